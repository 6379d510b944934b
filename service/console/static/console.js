// The console's one script: plain JavaScript, no library, nothing fetched from elsewhere. Every
// page works without it (the buttons are real form buttons the server answers). With it, the
// intake form
//   - adds and removes members and rows in place (the server's blank item, copied);
//   - keeps an ID number masked on screen once entered (as stored: no digit shown, the masked
//     form of service/api/privacy.py); the number itself stays in this script's memory and is
//     sent with the form, never shown again;
//   - sends 试算 / 提交认定 / 载入 without leaving the page and puts the answer in place: the
//     server has already put each error next to its field; an edited field loses its error;
//   - moves the focus to a field a missing fact or an error links to.
"use strict";
(function () {
  var FORM = "intake-form";
  var numbers = new WeakMap(); // ID-number input -> the number typed in it
  var pending = {}; // field name -> ID number, from a file being loaded

  function fid(path) {
    return path.replace(/[\[\]\.:]+/g, "-").replace(/^-+|-+$/g, "");
  }

  function mask(number) {
    return number.replace(/./g, "*");
  }

  function idInputs(root) {
    return Array.prototype.slice.call(root.querySelectorAll('input[data-mask="id_number"]'));
  }

  // the number an ID input stands for: what is being typed, else what was typed before
  function idValue(input) {
    var typed = input.value.trim().toUpperCase();
    if (typed && input.dataset.showing !== "mask") return typed;
    return numbers.get(input) || "";
  }

  function showMasked(input) {
    var number = numbers.get(input);
    if (!number) return;
    input.value = mask(number);
    input.dataset.showing = "mask";
  }

  function keepNumber(input, number) {
    if (!number) return;
    numbers.set(input, number.toUpperCase());
    showMasked(input);
  }

  document.addEventListener("focusout", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || input.dataset.mask !== "id_number") return;
    var typed = input.value.trim();
    if (typed && input.dataset.showing !== "mask") keepNumber(input, typed);
    else showMasked(input);
  });

  document.addEventListener("focusin", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || input.dataset.mask !== "id_number") return;
    if (input.dataset.showing === "mask") {
      // retype to change; leaving it empty keeps the number entered
      input.placeholder = input.value;
      input.value = "";
      input.dataset.showing = "";
    }
  });

  // --- an edited field loses its error ----------------------------------------------------

  function clearError(field) {
    if (!field.id || field.getAttribute("aria-invalid") !== "true") return;
    field.removeAttribute("aria-invalid");
    var message = document.getElementById("error-" + field.id);
    if (message) message.remove();
    var described = (field.getAttribute("aria-describedby") || "")
      .split(" ")
      .filter(function (id) { return id && id !== "error-" + field.id; });
    if (described.length) field.setAttribute("aria-describedby", described.join(" "));
    else field.removeAttribute("aria-describedby");
  }

  document.addEventListener("input", function (event) { clearError(event.target); });
  document.addEventListener("change", function (event) {
    clearError(event.target);
    var name = event.target.name || "";
    if (/^household\.members\[\d+\]\.id$/.test(name)) refreshMemberIds();
  });

  function refreshMemberIds() {
    var list = document.getElementById("member-ids");
    if (!list) return;
    list.innerHTML = "";
    document.querySelectorAll('#' + FORM + ' input[name^="household.members["][name$="].id"]')
      .forEach(function (input) {
        if (!input.value.trim()) return;
        var option = document.createElement("option");
        option.value = input.value.trim();
        list.appendChild(option);
      });
  }

  // --- members and rows, added and removed in place -----------------------------------------

  function items(list) {
    return Array.prototype.filter.call(list.children, function (el) { return el.dataset.item; });
  }

  function firstField(root) {
    return root.querySelector("input:not([type=hidden]), select, textarea");
  }

  function addItem(path) {
    var group = fid(path);
    var blank = document.getElementById("blank-" + group);
    var list = document.getElementById("items-" + group);
    if (!blank || !list) return;
    var index = items(list).length;
    var html = blank.innerHTML.split("__i__").join(String(index)).split("{n}").join(String(index + 1));
    list.insertAdjacentHTML("beforeend", html);
    var item = list.lastElementChild;
    if (path === "household.members") {
      var taken = {};
      document.querySelectorAll('#' + FORM + ' input[name^="household.members["][name$="].id"]')
        .forEach(function (input) { taken[input.value.trim()] = true; });
      var number = 1;
      while (taken["m" + number]) number += 1;
      item.querySelector('input[name$="].id"]').value = "m" + number;
      var schooling = item.querySelector('select[name$="].schooling"]');
      if (schooling) schooling.value = "none";
      refreshMemberIds();
    }
    var none = document.getElementById("none-" + group);
    if (none) none.checked = false; // a list with an item is not "none"
    var field = firstField(item);
    if (field) field.focus();
  }

  function renumber(list, path) {
    var group = fid(path);
    var fieldset = document.getElementById(group);
    var ordinal = fieldset ? fieldset.dataset.ordinal : "";
    var removeLabel = fieldset ? fieldset.dataset.removeLabel : "";
    items(list).forEach(function (item, index) {
      var old = item.dataset.index;
      var now = String(index);
      var oldPath = path + "[" + old + "]";
      var newPath = path + "[" + now + "]";
      var oldId = group + "-" + old;
      var newId = group + "-" + now;
      var rewrite = function (text) {
        return text
          .split(oldPath).join(newPath)
          .replace(new RegExp("(^|[ -])" + oldId + "(-|$)", "g"), "$1" + newId + "$2");
      };
      [item].concat(Array.prototype.slice.call(item.querySelectorAll("*"))).forEach(function (el) {
        ["name", "id", "for", "aria-describedby", "data-error-for"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value) el.setAttribute(attr, rewrite(value));
        });
        if (el.matches("button[data-remove]")) {
          el.value = "remove:" + newPath;
          if (removeLabel && ordinal) {
            el.setAttribute("aria-label", removeLabel.replace("{item}", ordinal.replace("{n}", index + 1)));
          }
        }
      });
      item.dataset.index = now;
      var title = item.querySelector("[data-ordinal]");
      if (title && ordinal) title.textContent = ordinal.replace("{n}", index + 1);
    });
  }

  function removeItem(button) {
    var item = button.closest("[data-item]");
    if (!item) return;
    var path = item.dataset.item;
    var list = item.parentNode;
    var next = item.nextElementSibling;
    item.remove();
    renumber(list, path);
    if (path === "household.members") refreshMemberIds();
    var target = next ? firstField(next) : document.getElementById("add-" + fid(path));
    if (target) target.focus();
  }

  // --- sending the form without leaving the page --------------------------------------------

  function collect(form, submitter) {
    var data = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled) return;
      if (el.type === "submit" || el.type === "button" || el.type === "file") return;
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) return;
      var value = el.dataset.mask === "id_number" ? idValue(el) : el.value;
      data.append(el.name, value);
    });
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    return data;
  }

  function download(response) {
    var disposition = response.headers.get("Content-Disposition") || "";
    var found = /filename="([^"]+)"/.exec(disposition);
    return response.blob().then(function (blob) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = found ? found[1] : "household.json";
      document.body.appendChild(link);
      link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
    });
  }

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.getElementById("intake");
    var current = document.getElementById("intake");
    if (!fresh || !current) {
      // a page of another kind (a refusal, the sign-in page): show it as it is
      document.title = doc.title;
      document.body.replaceWith(document.importNode(doc.body, true));
      return;
    }
    var kept = {};
    idInputs(current).forEach(function (input) {
      var number = idValue(input);
      if (number) kept[input.name] = number;
    });
    Object.keys(pending).forEach(function (name) { kept[name] = pending[name]; });
    pending = {};
    current.replaceWith(document.importNode(fresh, true));
    idInputs(document.getElementById("intake")).forEach(function (input) {
      keepNumber(input, kept[input.name]);
    });
    var focus = document.getElementById("error-summary") || document.getElementById("result-title");
    if (focus) focus.focus();
  }

  function send(form, submitter) {
    var action = submitter && submitter.value;
    var body = collect(form, submitter);
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    form.setAttribute("aria-busy", "true");
    // form.action would be the buttons named "action": the attribute is the address
    fetch(form.getAttribute("action"), { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        var kind = response.headers.get("Content-Type") || "";
        if (action === "save" && response.ok && kind.indexOf("application/json") === 0) {
          return download(response);
        }
        var path = new URL(response.url).pathname;
        if (response.redirected && path !== form.getAttribute("action")) {
          window.location.assign(response.url); // e.g. the session ended: the sign-in page
          return null;
        }
        return response.text().then(swap);
      })
      .catch(function () {
        form.removeAttribute("aria-busy");
        buttons.forEach(function (b) { b.disabled = false; });
        HTMLFormElement.prototype.submit.call(form); // the network failed: plain submission
      })
      .then(function () {
        form.removeAttribute("aria-busy");
        buttons.forEach(function (b) { b.disabled = false; });
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== FORM && form.id !== "load-form") return;
    var submitter = event.submitter;
    var action = (submitter && submitter.value) || "";
    event.preventDefault();
    if (action.indexOf("add:") === 0) return addItem(action.slice(4));
    if (action.indexOf("remove:") === 0) return removeItem(submitter);
    send(form, submitter);
  });

  // a chosen file is read here (its ID numbers kept in memory) and loaded into the form
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.id !== "load-file" || !input.files || !input.files.length) return;
    var reader = new FileReader();
    reader.onload = function () {
      var text = String(reader.result);
      document.getElementById("contract_json").value = text;
      try {
        var members = ((JSON.parse(text) || {}).household || {}).members || [];
        members.forEach(function (member, index) {
          if (member && member.id_number) {
            pending["household.members[" + index + "].id_number"] = String(member.id_number);
          }
        });
      } catch (ignored) { /* the server says what is wrong with it */ }
      var form = document.getElementById("load-form");
      send(form, document.getElementById("load-submit"));
    };
    reader.readAsText(input.files[0], "utf-8");
  });

  // --- links to a field: focus it, not only scroll to it -------------------------------------

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest('a[href^="#"]') : null;
    if (link) {
      var target = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
      if (!target) return;
      var field = target.matches("input, select, textarea") ? target : firstField(target);
      if (!field) return;
      event.preventDefault();
      target.scrollIntoView({ block: "center" });
      field.focus();
      return;
    }
    var print = event.target.closest ? event.target.closest("[data-print]") : null;
    if (print) window.print();
  });

  // server-rendered ID numbers (a page sent back without script) show their masked form
  document.addEventListener("DOMContentLoaded", function () {
    idInputs(document).forEach(function (input) {
      if (input.dataset.masked && !input.value) input.placeholder = input.placeholder || input.dataset.masked;
    });
  });
})();

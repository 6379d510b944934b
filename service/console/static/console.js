// The console's one script: plain JavaScript, no library. Pages work without it; with it the
// intake form adds and removes members and rows in place, keeps ID numbers masked on screen and
// places each field's error next to its field.
"use strict";

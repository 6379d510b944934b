"""The console's pages, one module per part: sign-in, intake, audit, rules."""

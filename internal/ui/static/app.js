// groundcrew: a little JavaScript that only enhances; every page works
// without it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Show exact times in the viewer's own time zone as well as UTC.
  for (const el of document.querySelectorAll("time[datetime]")) {
    const d = new Date(el.getAttribute("datetime"));
    if (!isNaN(d)) {
      el.title = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "long" }) + " (" + el.title + ")";
    }
  }
  // Ask before destructive forms.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (ev) => {
      if (!window.confirm(form.dataset.confirm)) {
        ev.preventDefault();
      }
    });
  }
  // Leave empty filters out of search URLs, so that a shared link says
  // only what it filters on.
  for (const form of document.querySelectorAll('form[method="get"]')) {
    form.addEventListener("formdata", (ev) => {
      for (const [key, value] of [...ev.formData.entries()]) {
        if (value === "") {
          ev.formData.delete(key);
        }
      }
    });
  }
  // Bring the first field in error into view and focus, so that a
  // rejected form says at once what to fix.
  const invalid = document.querySelector('main [aria-invalid="true"]');
  if (invalid) {
    invalid.focus();
  }
  // Select a freshly shown secret so that it is ready to copy.
  const secret = document.getElementById("secret");
  if (secret) {
    secret.focus();
    secret.select();
  }
});

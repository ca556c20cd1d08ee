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
  // Show only the parts of a form that apply to the chosen type (the check
  // form's probe settings): without this script all are shown, and the
  // server reads only those of the type.
  for (const select of document.querySelectorAll("select[data-switch]")) {
    const show = () => {
      for (const el of select.form.querySelectorAll("[data-types]")) {
        el.hidden = !el.dataset.types.split(" ").includes(select.value);
      }
    };
    select.addEventListener("change", show);
    show();
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

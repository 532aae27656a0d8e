// Artifact uploads with a progress bar. The form still works without JavaScript (a normal post).
(function () {
  "use strict";

  function setProgress(form, percent) {
    var wrapper = form.querySelector(".progress");
    var bar = form.querySelector(".progress-bar");
    wrapper.classList.remove("d-none");
    wrapper.setAttribute("aria-valuenow", String(Math.round(percent)));
    bar.dataset.progress = String(percent);
    bar.style.width = percent + "%";
    bar.textContent = Math.round(percent) + "%";
  }

  function bind(form) {
    if (!form || form.dataset.bound) return;
    form.dataset.bound = "1";
    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.XMLHttpRequest) return;
      event.preventDefault();
      var status = form.querySelector(".upload-status");
      var button = form.querySelector("button[type=submit]");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          setProgress(form, (e.loaded / e.total) * 100);
          status.textContent = "Uploading… " + Math.round(e.loaded / 1048576) + " of " + Math.round(e.total / 1048576) + " MiB";
        }
      });
      xhr.addEventListener("load", function () {
        button.disabled = false;
        if (xhr.status === 200) {
          var target = document.querySelector(form.dataset.uploadTarget);
          target.outerHTML = xhr.responseText;
          var table = document.querySelector(form.dataset.uploadTarget);
          if (window.htmx) window.htmx.process(table);
          form.reset();
          setProgress(form, 100);
          status.textContent = "Uploaded. Validation is running; the status updates by itself.";
        } else if (xhr.status === 400) {
          form.outerHTML = xhr.responseText;
          bind(document.getElementById("artifact-upload"));
        } else if (xhr.status === 413) {
          status.textContent = "The file is larger than the maximum artifact size.";
        } else {
          status.textContent = "The upload failed (" + xhr.status + "). Nothing was stored; please try again.";
        }
      });
      xhr.addEventListener("error", function () {
        button.disabled = false;
        status.textContent = "The connection was lost. Nothing was stored; please try again.";
      });
      button.disabled = true;
      setProgress(form, 0);
      xhr.send(new FormData(form));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    bind(document.getElementById("artifact-upload"));
  });
})();

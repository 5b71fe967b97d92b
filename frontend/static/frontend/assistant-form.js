// The assistant builder: slider read-outs, add/remove rows, and the voice preview.
// Everything here enhances plain form fields; the form submits the same without it.

const form = document.getElementById("assistant-form");

function changed(element) {
  // Inline validation (htmx, hx-trigger="change") hears about rows added or removed too.
  element.dispatchEvent(new Event("change", { bubbles: true }));
}

function setUpSliders() {
  for (const slider of form.querySelectorAll(".slider input[type=range]")) {
    const output = document.getElementById(`${slider.id}_value`);
    const override = document.getElementById(`${slider.id}_set`);
    const shown = Number(output.value);
    if (output.value !== "" && Number.isFinite(shown)) output.value = shown.toFixed(2);
    slider.addEventListener("input", () => {
      output.value = Number(slider.value).toFixed(2);
      override.checked = true; // moving a slider sets that setting
    });
  }
}

function renumber(list) {
  // Screen readers tell rows apart by their labels ("Phrase 2", "Remove phrase 2").
  [...list.children].forEach((row, index) => {
    for (const element of row.querySelectorAll("[aria-label]")) {
      element.setAttribute("aria-label", element.getAttribute("aria-label").replace(/\d+$/, index + 1));
    }
  });
}

function setUpRows(editor) {
  const list = editor.querySelector(".rows");
  const add = editor.querySelector(".add-row");
  const blank = list.lastElementChild.cloneNode(true);
  for (const input of blank.querySelectorAll("input")) input.value = "";

  const wire = (row) => {
    const remove = row.querySelector(".remove-row");
    remove.hidden = false;
    remove.addEventListener("click", () => {
      const next = row.nextElementSibling || row.previousElementSibling;
      if (list.children.length > 1) row.remove();
      else for (const input of row.querySelectorAll("input")) input.value = "";
      renumber(list);
      changed(list);
      (next || add).querySelector?.("input")?.focus();
    });
  };

  for (const row of list.children) wire(row);
  add.hidden = false;
  add.addEventListener("click", () => {
    const row = blank.cloneNode(true);
    list.append(row);
    wire(row);
    renumber(list);
    row.querySelector("input").focus();
  });
}

async function preview(button, audio, status) {
  button.disabled = true;
  status.textContent = "Asking the voice to speak…";
  try {
    const response = await fetch(form.dataset.previewUrl, {
      method: "POST",
      body: new FormData(form),
      headers: { "X-Requested-With": "fetch" },
      credentials: "same-origin",
    });
    if (!response.ok) {
      status.textContent = (await response.text()) || `The preview failed (${response.status}).`;
      return;
    }
    if (audio.src) URL.revokeObjectURL(audio.src);
    audio.src = URL.createObjectURL(await response.blob());
    audio.hidden = false;
    status.textContent = "Playing the sample.";
    await audio.play().catch(() => {
      status.textContent = "The sample is ready: press play.";
    });
  } catch {
    status.textContent = "The preview could not reach the server. Try again.";
  } finally {
    button.disabled = false;
  }
}

function setUpPreview() {
  const button = document.getElementById("voice-preview");
  const audio = document.getElementById("voice-preview-audio");
  const status = document.getElementById("voice-preview-status");
  button.disabled = false;
  button.addEventListener("click", () => preview(button, audio, status));
}

if (form) {
  setUpSliders();
  for (const editor of form.querySelectorAll("[data-rows]")) setUpRows(editor);
  setUpPreview();
}

// The last step of her report, with scripts on (issue 18): her receipt is made on her
// device, her words and files are sealed on it and only ciphertext is sent.
//
// The page works without this script (the server seals what arrives, and the page says
// so); the script takes over only where everything it needs exists.  Her code lives in
// this page's memory and nowhere else: it is drawn into the page as text once her
// report is kept, and leaving the page forgets it, as the server's receipt page does.
// If the sealing fails, nothing is sent in the clear: she is told, her words stay in the
// form, and she may try again or choose, knowingly, to let the server seal them.

import { canSealHere, fill } from "./page.js";
import { display } from "./receipt.js";

// Below this, sealing is quick whatever the device: no calibration.
const CALIBRATE_ABOVE_BYTES = 8 * 1024 * 1024;

function oneAnswer(worker, message, onOther = () => {}) {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event) => {
      const data = event.data;
      if (["sealed", "failed", "refused", "speed"].includes(data.op) || "ok" in data) resolve(data);
      else onOther(data);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error("worker"));
    };
    worker.postMessage(message);
  });
}

function setUp(form) {
  const data = form.dataset;
  const status = document.getElementById("sealing-status");
  const statusText = status.querySelector("[data-status-text]");
  const bar = status.querySelector("progress");
  const choice = document.getElementById("sealing-slow");
  const problem = document.getElementById("sealing-problem");
  const button = form.querySelector("button[type=submit]");
  const fileInput = form.querySelector("input[type=file]");
  const readers = data.readers.split(/\s+/).filter(Boolean);
  let busy = false;

  // With scripts on, the page says her words are sealed on this phone.
  for (const note of document.querySelectorAll("[data-server-sealing]")) note.hidden = true;
  for (const note of document.querySelectorAll("[data-browser-sealing]")) note.hidden = false;

  // Her receipt is made while she writes: scrypt takes a second, or a minute on a
  // JIT-less browser, and then it is ready when she presses Send.
  const receiptWorker = new Worker(data.receiptWorker);
  const receipt = oneAnswer(receiptWorker, { workFactor: Number(data.workFactor) });

  const language = document.documentElement.lang;
  // Western digits in Arabic, as Moroccan phones show them.
  const percentIn = new Intl.NumberFormat(language === "ar" ? "ar-MA" : language || "fr", {
    style: "percent",
  });
  const percentText = status.querySelector("[data-percent]");

  function say(text, { progress = null } = {}) {
    status.hidden = false;
    statusText.textContent = text;
    bar.hidden = progress === null;
    percentText.textContent = progress === null ? "" : percentIn.format(progress / 100);
    if (progress !== null) bar.value = progress;
  }

  function complain(text) {
    problem.textContent = text;
    problem.hidden = !text;
  }

  function idle() {
    busy = false;
    form.removeAttribute("aria-busy");
    button.disabled = false;
    if (button.dataset.label) button.textContent = button.dataset.label;
    status.hidden = true;
  }

  // What the server's form would refuse, said before anything is sealed: her words
  // cannot be checked once they are (reporting/forms.py TellUsForm).
  function wordsProblem() {
    for (const field of form.querySelectorAll("textarea, input[type=text]")) {
      const value = field.value;
      let text = "";
      // Characters as Python counts them (code points), not UTF-16 units.
      const limit = Number(field.name === "narrative" ? data.narrativeLimit : data.shortLimit);
      if (field.required && !value.trim()) text = data.required;
      else if ([...value].length > limit) text = data.tooLong;
      else if (value.includes("\u0000")) text = data.cannotKeep;
      if (text) return { field, text };
    }
    return null;
  }

  // sending.js's check, made here because this listener answers the submit alone.
  function filesProblem() {
    const box = document.getElementById("id_evidence_problem");
    if (!box || !fileInput) return "";
    const maxFile = Number(form.dataset.maxFile);
    let total = 0;
    for (const chosen of fileInput.files) {
      total += chosen.size;
      if (chosen.size > maxFile) return box.dataset.tooLarge.replace("%(name)s", chosen.name);
    }
    return total > Number(form.dataset.maxReport) ? box.dataset.tooMuch : "";
  }

  function words() {
    const value = (name) => form.elements[name]?.value ?? "";
    return { narrative: value("narrative"), identifiers: value("identifiers"), contact: value("contact") };
  }

  async function askIfSlow(files, sealer) {
    const total = files.reduce((sum, file) => sum + file.size, 0);
    if (total < CALIBRATE_ABOVE_BYTES) return true;
    const { bytesPerSecond } = await oneAnswer(sealer, { op: "calibrate", readers });
    const seconds = total / bytesPerSecond;
    // Past INTAKE_SLOW_SEALING_SECONDS she is asked before sealing starts.
    if (seconds < Number(data.slowSeconds)) return true;
    choice.querySelector("[data-estimate]").textContent = fill(data.slow, {
      minutes: Math.ceil(seconds / 60),
    });
    choice.hidden = false;
    status.hidden = true;
    return new Promise((resolve) => {
      choice.querySelector("[data-go-on]").onclick = () => {
        choice.hidden = true;
        resolve(true);
      };
      choice.querySelector("[data-server-seals]").onclick = () => resolve(false);
    });
  }

  async function file(sealed, made) {
    const body = JSON.stringify({
      receipt: { lookup: made.lookup, recipient: made.recipient, sealed_identity: made.sealedIdentity },
      content: sealed.content,
      files: sealed.files,
    });
    // Filing the same receipt twice files once (the server remembers it in her
    // session), so a lost answer is simply asked again.
    for (let attempt = 0; ; attempt += 1) {
      try {
        const response = await fetch(data.fileUrl, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRFToken": form.elements.csrfmiddlewaretoken.value },
          body,
          credentials: "same-origin",
        });
        const answer = await response.json().catch(() => ({}));
        if (response.ok) return { ok: true };
        if (response.status < 500 || attempt >= 4) return { ok: false, text: answer.message || data.failed };
      } catch {
        if (attempt >= 4) return { ok: false, text: data.failed };
      }
      say(data.retrying);
      await new Promise((resolve) => setTimeout(resolve, 2000 * (attempt + 1)));
    }
  }

  function showReceipt(code) {
    const view = document.getElementById("receipt-view");
    // Her code is text in the page, never markup.
    view.querySelector("[data-receipt-code]").textContent = display(code);
    form.hidden = true;
    status.hidden = true;
    for (const hide of document.querySelectorAll("[data-hide-when-filed]")) hide.hidden = true;
    view.hidden = false;
    view.querySelector("h1").focus();
    window.scrollTo(0, 0);
  }

  async function send() {
    complain("");
    const files = Array.from(fileInput?.files ?? []);
    say(data.makingCode);
    const made = await receipt;
    if (!made.ok) throw new Error("receipt");
    const sealer = new Worker(data.sealWorker);
    try {
      if (!(await askIfSlow(files, sealer))) {
        // Her choice: the server seals them as they arrive (the path scripts-off takes).
        form.dataset.serverSealing = "yes";
        idle();
        form.requestSubmit();
        return;
      }
      say(data.sealing, { progress: 0 });
      const answer = await oneAnswer(
        sealer,
        {
          op: "seal",
          readers: [made.receipt.recipient, ...readers],
          words: words(),
          files,
          // Absolute: a Worker resolves addresses against its script's, not the page's.
          endpoint: new URL(data.uploads, window.location.href).href,
          csrf: form.elements.csrfmiddlewaretoken.value,
          partSize: Number(data.partSize),
          maxImageBytes: Number(data.maxImage),
        },
        (message) => {
          if (message.op === "progress") {
            const percent = Math.floor((100 * message.done) / message.total);
            say(data.sealing, { progress: percent });
          } else if (message.op === "retrying") {
            say(data.retrying, { progress: bar.value });
          }
        },
      );
      if (answer.op === "refused") {
        complain(answer.files.map(([name]) => fill(data.refusedType, { name })).join(" "));
        idle();
        return;
      }
      if (answer.op !== "sealed") {
        complain(answer.text || data.failed);
        idle();
        return;
      }
      say(data.filing, { progress: 100 });
      const filed = await file(answer, made.receipt);
      if (!filed.ok) {
        complain(filed.text);
        idle();
        return;
      }
      showReceipt(made.receipt.code);
    } finally {
      sealer.terminate();
    }
  }

  form.addEventListener("submit", (event) => {
    if (form.dataset.serverSealing === "yes") return; // her choice: sending.js sends it
    // This listener answers alone (sending.js would mark the form sent).
    event.preventDefault();
    event.stopImmediatePropagation();
    if (busy) return;
    const box = document.getElementById("id_evidence_problem");
    const tooBig = filesProblem();
    if (box) {
      box.textContent = tooBig; // her file's name is text, never markup
      box.hidden = !tooBig;
    }
    if (tooBig) {
      fileInput.focus();
      return;
    }
    const wrong = wordsProblem();
    if (wrong) {
      complain(wrong.text);
      wrong.field.focus();
      return;
    }
    busy = true;
    form.setAttribute("aria-busy", "true");
    button.dataset.label = button.textContent;
    button.textContent = data.sending;
    button.disabled = true;
    send().catch(() => {
      complain(data.failed);
      idle();
    });
  });
}

const form = document.querySelector("form[data-seal]");
// requestSubmit: her choice to let the server seal sends the form as it is.
const able = canSealHere() && typeof HTMLFormElement.prototype.requestSubmit === "function";
if (form && able && form.dataset.readers) setUp(form);

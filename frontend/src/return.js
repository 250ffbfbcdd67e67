// Her return visit with scripts on (issue 18, item 7): her report opened on her device.
//
// The code page works without this script (the server then opens her report,
// reporting/views/return_visit.py).  With it, her code goes to a Worker
// (visit-worker.js), never to the server: the Worker derives the lookup her report is
// filed under, which is all the page sends, and opens her key from what the server hands
// back still sealed (reporting/views/visits.py).  Her report is then shown in this same
// page, opened piece by piece in the Worker: no navigation, so her key lives in this
// page's Worker and nowhere else (no storage of any kind, no cookie, no address);
// leaving the page ends the Worker, empties the page and revokes every file it opened.
//
// What she writes is sealed in the Worker and uploaded (upload.js); files she adds go
// through the sealing Worker of her first report (seal-worker.js); her "yes" to a
// referral re-issues every header of her report with her key, in the Worker.  Whatever
// was opened enters the page as text (textContent), never as markup.

import { canSealHere, fill } from "./page.js";

// What reporting/forms.py MessageForm refuses in a message, checked before it is sealed:
// the server cannot read it afterwards.
const NUL = "\u0000";

/** A Worker answering calls by id (visit-worker.js). */
class Calls {
  constructor(url) {
    this.worker = new Worker(url);
    this.next = 0;
    this.waiting = new Map();
    this.worker.onmessage = (event) => {
      const answer = event.data;
      const resolve = this.waiting.get(answer.id);
      this.waiting.delete(answer.id);
      if (resolve) resolve(answer);
    };
    this.worker.onerror = (event) => {
      event.preventDefault();
      for (const resolve of this.waiting.values()) resolve({ ok: false, reason: "worker", text: "" });
      this.waiting.clear();
    };
  }

  call(op, args = {}) {
    const id = (this.next += 1);
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ id, op, ...args });
    });
  }

  end() {
    this.worker.terminate();
    for (const resolve of this.waiting.values()) resolve({ ok: false, reason: "ended", text: "" });
    this.waiting.clear();
  }
}

/** One sealing of files in seal-worker.js; progress and retries reported on the way. */
function sealFiles(url, message, onOther) {
  const worker = new Worker(url);
  return new Promise((resolve) => {
    worker.onmessage = (event) => {
      const data = event.data;
      if (["sealed", "failed", "refused"].includes(data.op)) {
        worker.terminate();
        resolve(data);
      } else onOther(data);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      worker.terminate();
      resolve({ op: "failed", text: "" });
    };
    worker.postMessage(message);
  });
}

function setUp(form) {
  const data = form.dataset;
  // Her report's page, empty, as the server wrote it (inert in a <template> until her
  // report opens; removed whole when it closes).
  const blank = document.getElementById("visit-view-blank").content.firstElementChild;
  const texts = blank.dataset;
  let view = null;
  const problem = document.getElementById("visit-problem");
  const status = document.getElementById("visit-status");
  const button = form.querySelector("button[type=submit]");
  const csrf = () => form.elements.csrfmiddlewaretoken.value;
  const absolute = (address) => new URL(address, window.location.href).href;
  let visit = null; // the Worker holding her key, while her report is open
  let report = null; // what the server said of her report, last time (sealed objects)
  let busy = false;
  const downloads = new Set(); // blob: URLs of files opened, revoked on leave

  const part = (name) => view.querySelector(`[data-${name}]`);

  function complain(box, text) {
    box.textContent = text;
    box.hidden = !text;
  }

  async function ask(url, body) {
    const options = { credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) {
      options.method = "POST";
      options.headers = { "Content-Type": "application/json", "X-CSRFToken": csrf() };
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch {
      return { ok: false, status: 0, answer: {} };
    }
    const answer = await response.json().catch(() => ({}));
    if (response.status === 403 && answer.reason === "closed") closed(answer.message);
    return { ok: response.ok, status: response.status, answer };
  }

  // --- opening ------------------------------------------------------------------------

  async function open(code) {
    visit = new Calls(data.visitWorker);
    const stretched = await visit.call("stretch", { code, workFactor: Number(data.workFactor) });
    if (!stretched.ok) return stretched.reason === "code" ? data.wrongCode : data.failed;
    const found = await ask(data.openUrl, { lookup: stretched.lookup });
    if (!found.ok) return found.answer.message || data.failed;
    const unlocked = await visit.call("unlock", {
      sealedIdentity: found.answer.sealed_identity,
      challenge: found.answer.challenge,
    });
    if (!unlocked.ok) return unlocked.reason === "code" ? data.wrongCode : data.failed;
    const proven = await ask(data.proveUrl, { proof: unlocked.proof });
    if (!proven.ok) return proven.answer.message || data.failed;
    await show(proven.answer);
    return "";
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (busy) return;
    const code = form.elements.code.value;
    if (!code.trim()) {
      complain(problem, data.required);
      form.elements.code.focus();
      return;
    }
    busy = true;
    button.disabled = true;
    complain(problem, "");
    status.textContent = data.opening;
    status.hidden = false;
    open(code)
      .catch(() => data.failed)
      .then((failure) => {
        busy = false;
        button.disabled = false;
        status.hidden = true;
        if (failure) {
          forget();
          complain(problem, failure);
          form.elements.code.focus();
        }
      });
  });

  // --- her report, in this page -------------------------------------------------------

  async function opened(sealed) {
    const answer = await visit.call("text", { url: sealed.url });
    if (!answer.ok) throw new Error(answer.reason);
    return answer.text;
  }

  function notice(text) {
    const box = part("notice");
    box.textContent = text;
    box.hidden = !text;
  }

  function showMessage(label, text, author) {
    const item = document.getElementById("visit-message").content.firstElementChild.cloneNode(true);
    item.classList.add(`from-${author}`);
    item.querySelector("[data-author]").textContent = label;
    item.querySelector("[data-text]").textContent = text;
    part("thread").append(item);
    part("no-message").hidden = true;
  }

  async function showFiles() {
    const list = part("files");
    const names = await Promise.all(
      report.files.map(async (file) => {
        try {
          return JSON.parse(await opened(file.note)).name;
        } catch {
          return texts.cannotOpen;
        }
      }),
    );
    list.replaceChildren();
    report.files.forEach((file, index) => {
      const item = document.getElementById("visit-file").content.firstElementChild.cloneNode(true);
      item.querySelector("[data-name]").textContent = names[index];
      item.querySelector("[data-size]").textContent = `(${file.size})`;
      item.querySelector("[data-download]").addEventListener("click", (event) =>
        download(event.currentTarget, file.original, names[index]),
      );
      list.append(item);
    });
    part("no-files").hidden = report.files.length > 0;
  }

  async function download(control, sealed, name) {
    const label = control.textContent;
    control.disabled = true;
    control.textContent = texts.openingFile;
    const answer = await visit.call("file", { url: sealed.url });
    control.disabled = false;
    control.textContent = label;
    if (!answer.ok) {
      notice(texts.cannotOpen);
      return;
    }
    const address = URL.createObjectURL(answer.blob);
    downloads.add(address);
    const link = document.createElement("a");
    link.href = address;
    link.download = name;
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
  }

  function showQuestions() {
    const box = part("questions");
    box.replaceChildren();
    for (const question of report.questions) {
      const section = document.getElementById("visit-question").content.firstElementChild.cloneNode(true);
      section.querySelector("[data-text]").textContent = question.text;
      for (const choice of section.querySelectorAll("[data-answer]")) {
        choice.addEventListener("click", () => answer(section, question, choice.dataset.answer));
      }
      box.append(section);
    }
    const answered = part("answered");
    answered.replaceChildren(
      ...report.answered.map((text) => {
        const item = document.createElement("li");
        item.textContent = text;
        return item;
      }),
    );
    answered.hidden = report.answered.length === 0;
  }

  async function show(answer) {
    report = answer;
    form.elements.code.value = ""; // her code leaves the page once it has done its work
    view = blank.cloneNode(true);
    view.hidden = true;
    document.querySelector("[data-hide-when-open]").after(view);
    wireForms();
    const narrative = JSON.parse(await opened(report.content)).narrative;
    const messages = await Promise.all(report.messages.map(async (m) => JSON.parse(await opened(m.body)).text));
    part("status").textContent = report.status;
    part("narrative").textContent = narrative;
    part("thread").replaceChildren();
    report.messages.forEach((m, index) => showMessage(m.author_label, messages[index], m.author));
    part("no-message").hidden = report.messages.length > 0;
    showQuestions();
    await showFiles();
    for (const hide of document.querySelectorAll("[data-hide-when-open]")) hide.hidden = true;
    view.hidden = false;
    view.querySelector("h1").focus();
    window.scrollTo(0, 0);
  }

  async function refresh() {
    const fresh = await ask(data.reportUrl);
    if (!fresh.ok) return;
    report = fresh.answer;
    part("status").textContent = report.status;
    showQuestions();
    await showFiles();
  }

  // --- what she sends -----------------------------------------------------------------

  function wireForms() {
    const messageForm = part("message-form");
    const messageBox = messageForm.querySelector("textarea");
    const messageProblem = messageForm.querySelector("[data-problem]");

    function messageFault(text) {
      if (!text.trim()) return texts.messageRequired;
      if (text.length > Number(data.maxMessage)) return texts.tooLong;
      if (text.includes(NUL) || text.includes("\ufffd")) return texts.cannotKeep;
      return "";
    }

    messageForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (messageForm.getAttribute("aria-busy") === "true") return;
      const text = messageBox.value;
      const fault = messageFault(text);
      complain(messageProblem, fault);
      if (fault) {
        messageBox.focus();
        return;
      }
      const send = messageForm.querySelector("button[type=submit]");
      messageForm.setAttribute("aria-busy", "true");
      send.disabled = true;
      try {
        const sealed = await visit.call("message", {
          text,
          readers: report.readers,
          endpoint: absolute(data.uploads),
          csrf: csrf(),
          partSize: Number(data.partSize),
        });
        if (!sealed.ok) {
          complain(messageProblem, sealed.text || texts.notSent);
          return;
        }
        const posted = await ask(data.messageUrl, { token: sealed.token });
        if (!posted.ok) {
          complain(messageProblem, posted.answer.message || texts.notSent);
          if (posted.answer.reason === "stanzas") await refresh();
          return;
        }
        showMessage(posted.answer.author_label, text, "reporter");
        messageBox.value = "";
      } finally {
        messageForm.removeAttribute("aria-busy");
        send.disabled = false;
      }
    });

    const evidenceForm = part("evidence-form");
    const fileInput = evidenceForm.querySelector("input[type=file]");
    const evidenceProblem = evidenceForm.querySelector("[data-problem]");
    const sizeBox = evidenceForm.querySelector("#id_evidence_problem");
    const progress = evidenceForm.querySelector("[data-progress]");
    const percentIn = new Intl.NumberFormat(document.documentElement.lang === "ar" ? "ar-MA" : "fr", {
      style: "percent",
    });

    function sizeFault(files) {
      let total = 0;
      for (const chosen of files) {
        total += chosen.size;
        if (chosen.size > Number(data.maxFile)) return fill(sizeBox.dataset.tooLarge, { name: chosen.name });
      }
      return total > Number(data.maxReport) ? sizeBox.dataset.tooMuch : "";
    }

    function say(text, percent) {
      progress.hidden = false;
      progress.querySelector("[data-status-text]").textContent = text;
      progress.querySelector("[data-percent]").textContent = percentIn.format(percent / 100);
      progress.querySelector("progress").value = percent;
    }

    fileInput.addEventListener("change", () => complain(sizeBox, sizeFault(Array.from(fileInput.files))));

    evidenceForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (evidenceForm.getAttribute("aria-busy") === "true") return;
      const files = Array.from(fileInput.files);
      complain(evidenceProblem, files.length ? "" : texts.noFile);
      const tooBig = sizeFault(files);
      complain(sizeBox, tooBig);
      if (!files.length || tooBig) {
        fileInput.focus();
        return;
      }
      const send = evidenceForm.querySelector("button[type=submit]");
      evidenceForm.setAttribute("aria-busy", "true");
      send.disabled = true;
      say(texts.sending, 0);
      try {
        const sealed = await sealFiles(
          data.sealWorker,
          {
            op: "seal",
            readers: report.readers,
            files,
            endpoint: absolute(data.uploads),
            csrf: csrf(),
            partSize: Number(data.partSize),
            maxImageBytes: Number(data.maxImage),
          },
          (message) => {
            if (message.op === "progress") say(texts.sending, Math.floor((100 * message.done) / message.total));
            else if (message.op === "retrying") say(texts.retrying, progress.querySelector("progress").value);
          },
        );
        if (sealed.op === "refused") {
          complain(evidenceProblem, sealed.files.map(([name]) => fill(texts.refusedType, { name })).join(" "));
          return;
        }
        if (sealed.op !== "sealed") {
          complain(evidenceProblem, sealed.text || texts.notSent);
          return;
        }
        const added = await ask(data.evidenceUrl, { files: sealed.files });
        if (!added.ok) {
          complain(evidenceProblem, added.answer.message || texts.notSent);
          if (added.answer.reason === "stanzas") await refresh();
          return;
        }
        fileInput.value = "";
        notice(added.answer.message);
        await refresh();
      } finally {
        progress.hidden = true;
        evidenceForm.removeAttribute("aria-busy");
        send.disabled = false;
      }
    });

  }

  // Her yes re-issues every header of her report with her key, for its readers and the
  // organisation asked about; if the report changed meanwhile (a reply arrived), once
  // more on the report as it is now.
  async function yes(question) {
    let sent = null;
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const now = await ask(data.headersUrl);
      if (!now.ok) return now;
      const { readers, headers } = now.answer;
      const after = readers.includes(question.recipient) ? readers : [...readers, question.recipient];
      const reissued = await visit.call("reissue", { headers, readers: after });
      if (!reissued.ok) return { ok: false, answer: {} };
      sent = await ask(data.consentUrl, { question: question.id, answer: "yes", readers, headers: reissued.headers });
      if (sent.status !== 409) return sent;
    }
    return sent;
  }

  async function answer(section, question, choice) {
    const buttons = section.querySelectorAll("[data-answer]");
    for (const b of buttons) b.disabled = true;
    const sent =
      choice === "yes" ? await yes(question) : await ask(data.consentUrl, { question: question.id, answer: "no" });
    for (const b of buttons) b.disabled = false;
    if (!sent.ok) {
      complain(section.querySelector("[data-problem]"), sent.answer.message || texts.notSent);
      return;
    }
    notice(sent.answer.message);
    await refresh();
  }

  // --- leaving ------------------------------------------------------------------------

  /** Her key, her report and every file opened: gone from this page. */
  function forget() {
    if (visit) visit.end();
    visit = null;
    report = null;
    for (const address of downloads) URL.revokeObjectURL(address);
    downloads.clear();
    if (view) view.remove();
    view = null;
  }

  // Idle too long, or her session ended elsewhere: the page says so and shows the code
  // form again.
  function closed(message) {
    if (!visit) return;
    forget();
    for (const hide of document.querySelectorAll("[data-hide-when-open]")) hide.hidden = false;
    complain(problem, message || "");
  }

  // Back to this page from the browser's cache: nothing of hers is in it any more, so
  // it starts again from the server's page.
  let emptied = false;
  window.addEventListener("pagehide", () => {
    if (visit === null) return;
    forget();
    emptied = true;
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && emptied) window.location.reload();
  });
}

const form = document.querySelector("form[data-open-visit]");
// Response: opened files are read back as bytes; object URLs: downloads opened here.
const able = canSealHere() && typeof Response === "function" && typeof URL.createObjectURL === "function";
if (form && able) setUp(form);

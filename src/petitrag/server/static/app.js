// petitrag web UI: plain JavaScript, no build step. Talks to the same server's /api and /v1 routes.
// Every document-derived string is inserted with textContent, never as HTML.
"use strict";

const STRINGS = {
  en: {
    collection: "Collection", newCollection: "New…", apiKey: "API key", keyPrompt: "API key for this server",
    save: "Save", documents: "Documents", upload: "Upload", noDocuments: "No document yet.",
    emptyChat: "Ask a question about your documents.", placeholder: "Your question…", ask: "Ask",
    modelTitle: "Model that answers", sources: "Sources", page: "p.", delete: "Delete",
    confirmDelete: "Remove {name} from the collection?", newCollectionPrompt: "Name of the new collection",
    deleteCollection: "Delete this collection",
    confirmDeleteCollection: "Delete the collection {name} and its index? Files uploaded to it are deleted too.",
    uploading: "Uploading {percent}%…", queued: "Waiting to be ingested…", waiting: "Waiting for another ingest into this collection to end…", parse: "Reading files {done}/{total}…",
    embed: "Indexing passages {done}/{total}…", ingested: "Ingested: {added} added, {unchanged} unchanged.",
    failedFile: "{file}: {reason}", warningFile: "{file}: {warning}",
    embedStopped: "Passage indexing stopped: {error}", jobFailed: "Ingestion failed: {error}", error: "Error: {message}",
    needKey: "This server needs an API key.", firstToken: "first token {s} s", total: "total {s} s",
    speed: "{n} tok/s", queue: "queued {s} s", escalated: "escalated", abstained: "not in the documents",
    escalatedTitle: "escalated from {from} to {to}: confidence {confidence} < {threshold}",
    budget: "prompt budget: {n} passage(s) shortened or left out",
    budgetTitle: "{tokens} of {budget} tokens. Shortened: {shortened}. Left out: {left}.",
    summarize: "Summarize", summaryOf: "Summary of {name}", summarizing: "Reading the whole document…",
    understoodAs: "understood as: {question}",
    emptyCollection: "This collection has no document yet: add some with Upload, then ask again.",
    offline: "The server cannot be reached: is petitrag serve still running? Try again once it is back.",
    wrongKey: "This API key was refused: enter the right one.",
    forbidden: "This API key may not use this collection.",
    tooLarge: "Too large: the server accepts at most {limit} MB per upload.",
    invalidCollection: "invalid collection '{name}': use letters, digits, '-', '_' or '.' (64 at most, not '-' first), no spaces.",
    tooLong: "This question is too long for the model: ask it in fewer words.",
    unsupportedFile: "{file}: unsupported file type. PDF, DOCX, HTML, Markdown and text files are read.",
    busy: "Files are still being added to this collection: try again once they are in.",
    documentGone: "This document is no longer in the collection: the list is refreshed.",
    serverBusy: "The server is busy with other questions: try again in a moment.",
    shuttingDown: "The server is shutting down: try again once it is back.",
    modelUnavailable: "The answer model could not be loaded on the server: {message}",
    timedOut: "The answer took too long and was stopped: try again, or ask a shorter question.",
    summaryTimedOut: "The summary took too long and was stopped: try again when the server is less busy, or ask a question about the document instead.",
    stop: "Stop", stopTitle: "Stop the answer (Esc)", stopped: "Stopped before the end.",
    modelFailed: "The model could not be loaded, so questions will fail: {error}",
    chooseFile: "Choose one or more files first.",
    unsendableKey: "This API key holds {chars}, which no request can carry: type it as the server was given it (a paste may have made a quote or a dash typographic).",
    quoted: "'{text}'",
    ingestedFailed: "{n} file(s) could not be read:",
    nothingAdded: "Nothing was added.",
    notUploaded: "Not uploaded: {files} (unsupported file type; PDF, DOCX, HTML, Markdown and text files are read).",
  },
  fr: {
    collection: "Collection", newCollection: "Nouvelle…", apiKey: "Clé d’API", keyPrompt: "Clé d’API de ce serveur",
    save: "Enregistrer", documents: "Documents", upload: "Envoyer", noDocuments: "Aucun document pour l’instant.",
    emptyChat: "Posez une question sur vos documents.", placeholder: "Votre question…", ask: "Demander",
    modelTitle: "Modèle qui répond", sources: "Sources", page: "p.", delete: "Supprimer",
    confirmDelete: "Retirer {name} de la collection ?", newCollectionPrompt: "Nom de la nouvelle collection",
    deleteCollection: "Supprimer cette collection",
    confirmDeleteCollection: "Supprimer la collection {name} et son index ? Les fichiers qui y ont été envoyés sont supprimés aussi.",
    uploading: "Envoi {percent} %…", queued: "En attente d’indexation…", waiting: "En attente de la fin d’une autre indexation de cette collection…", parse: "Lecture des fichiers {done}/{total}…",
    embed: "Indexation des passages {done}/{total}…", ingested: "Indexé : {added} ajouté(s), {unchanged} inchangé(s).",
    failedFile: "{file} : {reason}", warningFile: "{file} : {warning}",
    embedStopped: "Indexation des passages interrompue : {error}", jobFailed: "Échec de l’indexation : {error}", error: "Erreur : {message}",
    needKey: "Ce serveur demande une clé d’API.", firstToken: "premier mot {s} s", total: "total {s} s",
    speed: "{n} mots/s", queue: "attente {s} s", escalated: "escaladé", abstained: "absent des documents",
    escalatedTitle: "escaladé de {from} à {to} : confiance {confidence} < {threshold}",
    budget: "budget du prompt : {n} passage(s) raccourci(s) ou écarté(s)",
    budgetTitle: "{tokens} jetons sur {budget}. Raccourcis : {shortened}. Écartés : {left}.",
    summarize: "Résumer", summaryOf: "Résumé de {name}", summarizing: "Lecture de tout le document…",
    understoodAs: "compris comme : {question}",
    emptyCollection: "Cette collection n’a encore aucun document : ajoutez-en avec « Envoyer », puis reposez la question.",
    offline: "Le serveur ne répond pas : petitrag serve tourne-t-il encore ? Réessayez quand il sera revenu.",
    wrongKey: "Cette clé d’API est refusée : saisissez la bonne.",
    forbidden: "Cette clé d’API n’a pas accès à cette collection.",
    tooLarge: "Trop volumineux : le serveur accepte au plus {limit} Mo par envoi.",
    invalidCollection: "nom de collection « {name} » invalide : lettres, chiffres, « - », « _ » ou « . » (64 au plus, pas « - » en premier), sans espace.",
    tooLong: "Cette question est trop longue pour le modèle : posez-la en moins de mots.",
    unsupportedFile: "{file} : type de fichier non pris en charge. Les fichiers PDF, DOCX, HTML, Markdown et texte sont lus.",
    busy: "Des fichiers sont encore en cours d’ajout à cette collection : réessayez quand ils y seront.",
    documentGone: "Ce document n’est plus dans la collection : la liste est mise à jour.",
    serverBusy: "Le serveur répond à d’autres questions : réessayez dans un instant.",
    shuttingDown: "Le serveur s’arrête : réessayez quand il sera de retour.",
    modelUnavailable: "Le modèle de réponse n’a pas pu être chargé sur le serveur : {message}",
    timedOut: "La réponse a pris trop de temps et a été arrêtée : réessayez, ou posez une question plus courte.",
    summaryTimedOut: "Le résumé a pris trop de temps et a été arrêté : réessayez quand le serveur sera moins occupé, ou posez plutôt une question sur le document.",
    stop: "Arrêter", stopTitle: "Arrêter la réponse (Échap)", stopped: "Arrêtée avant la fin.",
    modelFailed: "Le modèle n’a pas pu être chargé, les questions vont échouer : {error}",
    chooseFile: "Choisissez d’abord un ou plusieurs fichiers.",
    unsendableKey: "Cette clé d’API contient {chars}, qu’aucune requête ne peut transmettre : saisissez-la telle que le serveur l’a reçue (un copier-coller a pu rendre typographique une apostrophe ou un tiret).",
    quoted: "« {text} »",
    ingestedFailed: "{n} fichier(s) illisible(s) :",
    nothingAdded: "Rien n’a été ajouté.",
    notUploaded: "Non envoyé(s) : {files} (type de fichier non pris en charge ; les fichiers PDF, DOCX, HTML, Markdown et texte sont lus).",
  },
};

const LANG = (navigator.languages || [navigator.language || "en"])
  .map((tag) => tag.slice(0, 2).toLowerCase())
  .find((code) => code in STRINGS) || "en";

function t(key, values = {}) {
  const text = STRINGS[LANG][key] || STRINGS.en[key] || key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

const $ = (id) => document.getElementById(id);
// "1.5" in English, "1,5" in French
const decimals = (value, digits) => value.toLocaleString(LANG, { minimumFractionDigits: digits, maximumFractionDigits: digits });
const seconds = (value) => decimals(value || 0, 1);
// history: the conversation's last turns, sent with each question so that the server rewrites a
// follow-up ("and the charges?") to stand alone, as `petitrag chat` does; one per collection.
// stop: aborts the answer being streamed (null when none is).
const state = { collection: null, key: localStorage.getItem("petitrag.key") || "", history: [], maxUploadMb: null,
  stop: null };
const HISTORY_MESSAGES = 8;
// the collection chosen last, in this browser: the page opens on it again while it exists
const SAVED_COLLECTION = "petitrag.collection";

function translatePage() {
  document.documentElement.lang = LANG;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  for (const node of document.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
}

// -- HTTP ---------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message, code = null) { super(message); this.status = status; this.code = code; }
}

// errors whose server message gives command-line advice: the page gives its own
const NO_DOCUMENTS = new Set(["collection_empty", "collection_not_found"]);

// Why a key cannot be sent, or null. A header carries Latin-1 only, without control characters:
// a pasted key with a curly quote ("key€with’curly") made every request fail in the browser,
// told "The server cannot be reached", and an upload showed "Failed to execute 'setRequestHeader'".
function keyRefusal(key) {
  const unsendable = [...new Set(key)].filter((char) => char.codePointAt(0) > 0xff || /[\x00-\x1f\x7f]/.test(char));
  if (!unsendable.length) return null;
  const shown = unsendable.map((char) => (char.codePointAt(0) > 0xff ? char // a control one, by its number
    : `U+${char.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}`));
  const chars = shown.map((text) => t("quoted", { text })).join(", ");
  return new ApiError(0, t("unsendableKey", { chars }), "unsendable_key");
}

function headers(extra = {}) {
  return state.key ? { Authorization: `Bearer ${state.key}`, ...extra } : extra;
}

async function failure(response) {
  let message = response.statusText, code = null;
  try { ({ message, code } = (await response.json()).error); } catch { /* not our JSON */ }
  if (response.status === 401) showKeyForm(true);
  return new ApiError(response.status, message, code);
}

// A fetch or a stream read that fails rejects with the browser's own English ("Failed to fetch",
// "network error"): said in the page's language instead (see describe).
function unreachable(error) {
  throw error instanceof TypeError ? new ApiError(0, error.message, "offline") : error;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(options.headers) }).catch(unreachable);
  if (!response.ok) throw await failure(response);
  return response.json();
}

// the server's rule (config.py: Settings._collection_name)
const VALID_COLLECTION = /^[\p{L}\p{N}_.][\p{L}\p{N}_.-]{0,63}$/u; // "-x" would read as an option
const collectionPath = (suffix = "") => `/api/collections/${encodeURIComponent(state.collection)}${suffix}`;

// -- collections and documents -------------------------------------------------------------

// Resolves to true when the collection on screen may not be used with this key (another is
// shown instead, whose conversation starts afresh).
async function loadInfo() {
  const asked = state.collection;
  const info = await api("/api/info");
  $("model").textContent = info.model;
  state.maxUploadMb = info.max_upload_mb;
  // may_use: the collections a limited key may use, made or not yet (null: any)
  const allowed = (name) => !info.may_use || info.may_use.includes(name);
  const names = new Set([...info.collections, ...(info.may_use || [])]);
  const preferred = allowed(info.default_collection) ? info.default_collection : [...names].sort()[0];
  const saved = localStorage.getItem(SAVED_COLLECTION);
  if (!state.collection && saved && names.has(saved) && allowed(saved)) state.collection = saved; // on load
  if (!state.collection || !allowed(state.collection)) state.collection = preferred;
  if (state.collection !== asked) state.history = []; // another key's: not the former conversation
  names.add(state.collection);
  localStorage.setItem(SAVED_COLLECTION, state.collection);
  fillCollections([...names].sort());
  await loadDocuments();
  return Boolean(asked) && !allowed(asked);
}

function fillCollections(names) {
  const select = $("collection");
  select.replaceChildren(...names.map((name) => new Option(name, name, false, name === state.collection)));
}

async function loadDocuments() {
  showUploadStatus(); // this collection's upload, if any: not the one of the collection before
  const list = $("documents");
  let documents = [], exists = true;
  try {
    documents = await api(collectionPath("/documents"));
  } catch (error) {
    if (error.code !== "collection_not_found") throw error; // that one: not made yet
    exists = false;
  }
  list.replaceChildren(...documents.map(documentItem));
  $("no-documents").hidden = documents.length > 0;
  $("delete-collection").hidden = !exists;
}

async function deleteCollection() {
  if (!confirm(t("confirmDeleteCollection", { name: state.collection }))) return;
  clearNotice();
  try {
    await api(collectionPath(), { method: "DELETE" });
  } catch (error) {
    if (error.status !== 404) return showError(error); // e.g. 409: an upload is still being ingested
  }
  state.collection = null; // back to the server's default collection
  localStorage.removeItem(SAVED_COLLECTION);
  state.history = [];
  await loadInfo().catch(showError);
}

function documentItem(doc) {
  const item = document.createElement("li");
  item.className = "document";
  const name = document.createElement("span");
  name.textContent = doc.name;
  name.title = doc.source;
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "link";
  remove.textContent = t("delete");
  remove.setAttribute("aria-label", `${t("delete")} ${doc.name}`); // not five "Delete" for a screen reader
  remove.addEventListener("click", async () => {
    if (!confirm(t("confirmDelete", { name: doc.name }))) return;
    clearNotice();
    await api(collectionPath(`/documents/${doc.id}`), { method: "DELETE" }).catch(showError);
    await loadDocuments().catch(showError);
  });
  const summarize = document.createElement("button");
  summarize.type = "button";
  summarize.className = "link summarize";
  summarize.textContent = t("summarize");
  summarize.setAttribute("aria-label", `${t("summarize")} ${doc.name}`);
  summarize.addEventListener("click", () => summarizeDocument(doc, summarize));
  const actions = document.createElement("span");
  actions.className = "actions";
  actions.append(summarize, remove);
  item.append(name, actions);
  return item;
}

// A whole-document summary (map-reduce on the server) shown as a turn of the transcript.
async function summarizeDocument(doc, button) {
  clearNotice();
  $("empty-chat").hidden = true;
  const turn = $("turn-template").content.firstElementChild.cloneNode(true);
  turn.classList.add("summary", "streaming");
  turn.querySelector(".question").textContent = t("summaryOf", { name: doc.name });
  turn.querySelector(".meta").textContent = t("summarizing");
  $("transcript").append(turn);
  reveal(turn);
  button.disabled = true;
  const end = (change) => follow(turn, change); // kept in view unless the reader scrolled up meanwhile
  // Stop or Escape ends it too (the server stops when the request goes); an answer already
  // streaming keeps its own Stop
  const stopper = new AbortController();
  const stoppable = !state.stop;
  if (stoppable) {
    state.stop = () => stopper.abort();
    streaming(true);
  }
  try {
    const summary = await api(collectionPath("/summarize"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ source: doc.source }),
      signal: stopper.signal,
    });
    const model = document.createElement("span");
    model.className = "badge model";
    model.textContent = summary.model;
    const timing = document.createElement("span");
    timing.className = "timings";
    timing.textContent = t("total", { s: seconds(summary.seconds) });
    // e.g. a model that wrote another language than the document's and could not translate it
    const warnings = (summary.warnings || []).map((text) => {
      const warning = document.createElement("span");
      warning.className = "warning";
      warning.textContent = text;
      return warning;
    });
    end(() => {
      turn.querySelector(".answer-text").textContent = summary.text;
      turn.querySelector(".meta").replaceChildren(model, timing, ...warnings);
    });
  } catch (error) {
    if (stopper.signal.aborted) {
      end(() => {
        turn.classList.add("stopped");
        turn.querySelector(".meta").textContent = t("stopped");
      });
    } else {
      end(() => showError(error, turn));
    }
  } finally {
    if (stoppable) {
      state.stop = null;
      streaming(false);
    }
    turn.classList.remove("streaming");
    button.disabled = false;
  }
}

// -- upload with progress ------------------------------------------------------------------

function uploadFiles(files, collection) {
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", collectionPath("/documents"));
    for (const [name, value] of Object.entries(headers())) request.setRequestHeader(name, value);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) {
        const percent = Math.round(100 * event.loaded / event.total);
        showProgress(t("uploading", { percent }), UPLOAD_SHARE * event.loaded / event.total, collection, true);
      }
    });
    request.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(request.responseText); } catch { /* keep empty */ }
      if (request.status === 202) resolve(body);
      else {
        if (request.status === 401) showKeyForm(true);
        const error = body.error || { message: request.statusText, code: null };
        reject(new ApiError(request.status, error.message, error.code));
      }
    });
    request.addEventListener("error", () => reject(new ApiError(0, "network error", "offline")));
    request.send(form);
  });
}

// Upload and ingest progress, per collection: the page shows the one of the collection on screen
// (an ingest goes on while another collection is looked at, and is shown again on coming back).
// collection -> { text, fraction, running, seen }
const uploads = new Map();

function showProgress(text, fraction, collection = state.collection, running = false) {
  uploads.set(collection, { text, fraction, running, seen: false });
  if (collection === state.collection) showUploadStatus();
}

function showUploadStatus() {
  for (const [collection, upload] of uploads) { // a finished one that was seen: gone once left
    if (collection !== state.collection && upload.seen && !upload.running) uploads.delete(collection);
  }
  const upload = uploads.get(state.collection);
  $("upload-status").hidden = !upload;
  $("upload-button").disabled = Boolean(upload && upload.running); // one upload at a time per collection
  if (!upload) return;
  upload.seen = true;
  $("upload-text").textContent = upload.text;
  // ended with nothing done (refused, failed, nothing added): said as an error, the bar empty
  $("upload-status").classList.toggle("failed", !upload.running && upload.fraction === 0);
  const bar = $("upload-progress");
  if (upload.fraction === null) bar.removeAttribute("value");
  else bar.value = Math.round(100 * upload.fraction);
}

// Sending the files is the first tenth of the bar, reading them the next fifth, indexing passages
// the rest: one scale, which never goes back (reading 1/1 filled the bar, then indexing 16/60
// emptied it to 27 %; "Uploading 100 %" was followed by the job's 0 %).
const UPLOAD_SHARE = 0.1;
const READING_SHARE = 0.2;

function jobFraction(job) {
  if (job.status === "queued") return UPLOAD_SHARE; // sent, not started: held where the upload left it
  if (!job.total) return null;
  const done = job.done / job.total;
  if (job.stage === "parse") return UPLOAD_SHARE + READING_SHARE * done;
  const indexing = 1 - UPLOAD_SHARE - READING_SHARE;
  return job.stage === "embed" ? UPLOAD_SHARE + READING_SHARE + indexing * done : null;
}

// notUploaded: the names of chosen files the server does not read, left out of the upload
async function followJob(job, collection = state.collection, notUploaded = []) {
  while (job.status === "queued" || job.status === "running") {
    const key = job.stage === "waiting" ? "waiting" : job.status === "queued" ? "queued" : job.stage;
    showProgress(t(key, job), jobFraction(job), collection, true);
    await new Promise((resolve) => setTimeout(resolve, 400));
    job = await api(`/api/jobs/${job.id}`);
  }
  if (job.status === "failed") return showProgress(t("jobFailed", { error: job.error }), 0, collection);
  const report = job.report;
  const added = report.added.length + report.updated.length;
  // every file failed: a full bar under "Ingested: 0 added…" read as a success
  const nothing = !added && !report.unchanged.length;
  const lines = [nothing ? t("nothingAdded") : t("ingested", { added, unchanged: report.unchanged.length })];
  if (notUploaded.length) lines.push(t("notUploaded", { files: notUploaded.join(", ") }));
  if (report.failed.length) lines.push(t("ingestedFailed", { n: report.failed.length }));
  for (const failed of report.failed) lines.push(t("failedFile", failed));
  for (const warning of report.warnings || []) lines.push(t("warningFile", warning));
  if (report.embed_error) lines.push(t("embedStopped", { error: report.embed_error }));
  showProgress(lines.join("\n"), nothing ? 0 : 1, collection);
}

// A file's extension as the server reads it (uploads.py: safe_filename, then check_supported)
function extension(name) {
  const trimmed = name.replace(/[ .]+$/, "");
  const dot = trimmed.lastIndexOf(".");
  return dot > 0 ? trimmed.slice(dot).toLowerCase() : "";
}

async function onUpload(event) {
  event.preventDefault();
  const input = $("upload-input");
  const chosen = input.files;
  if (uploads.get(state.collection)?.running) return; // Enter while the button is disabled
  if (!chosen.length) return showProgress(t("chooseFile"), 0);
  clearNotice();
  // Files the server does not read are left out and named in the report: penguins.txt chosen
  // with tool.exe made the server refuse both, and the page named tool.exe alone.
  const readable = input.accept.split(",");
  const files = [...chosen].filter((file) => readable.includes(extension(file.name)));
  const notUploaded = [...chosen].filter((file) => !files.includes(file)).map((file) => file.name);
  if (!files.length) return showProgress(t("unsupportedFile", { file: notUploaded.join(", ") }), 0);
  const bytes = files.reduce((sum, file) => sum + file.size, 0);
  if (state.maxUploadMb && bytes > state.maxUploadMb * 1024 * 1024) { // refused before sending it all
    return showProgress(t("tooLarge", { limit: state.maxUploadMb.toLocaleString(LANG) }), 0);
  }
  const collection = state.collection; // the one on screen may change meanwhile
  showProgress(t("uploading", { percent: 0 }), 0, collection, true);
  try {
    const body = await uploadFiles(files, collection);
    await followJob(body.job, collection, notUploaded);
    if (input.files === chosen) input.value = ""; // not files chosen since, for another upload
    await loadInfo();
  } catch (error) {
    showProgress(describe(error), 0, collection);
  }
}

// -- chat with streamed answers ------------------------------------------------------------

async function* serverEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read().catch(unreachable);
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split("\n").filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\n");
      if (data === "[DONE]") return;
      if (data) yield JSON.parse(data);
    }
  }
}

// Resolves to false when the question got no answer (its text then goes back to the input).
async function ask(question) {
  const conversation = state.history; // replaced when the collection changes meanwhile
  $("empty-chat").hidden = true;
  const turn = $("turn-template").content.firstElementChild.cloneNode(true);
  turn.querySelector(".question").textContent = question;
  const text = turn.querySelector(".answer-text");
  turn.classList.add("streaming");
  $("transcript").append(turn);
  reveal(turn);
  const stopper = new AbortController(); // Stop or Escape: the server stops when the request goes
  state.stop = () => stopper.abort();
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({
        model: `petitrag:${state.collection}`, stream: true,
        messages: [...conversation, { role: "user", content: question }],
      }),
      signal: stopper.signal,
    }).catch(unreachable);
    if (!response.ok) throw await failure(response);
    for await (const chunk of serverEvents(response)) {
      if (chunk.error) throw new ApiError(500, chunk.error.message, chunk.error.code);
      const delta = chunk.choices[0].delta.content;
      if (delta) follow(turn, () => { text.textContent += delta; });
      if (chunk.petitrag) {
        follow(turn, () => showResult(turn, chunk.petitrag));
        if (state.history === conversation) remember(question, chunk.petitrag); // not another collection's
      }
    }
    return true;
  } catch (error) {
    if (stopper.signal.aborted) { // the text so far stays, said to be cut short (and not remembered)
      follow(turn, () => {
        turn.classList.add("stopped");
        turn.querySelector(".meta").textContent = t("stopped");
      });
      return text.textContent !== "";
    }
    follow(turn, () => showError(error, turn)); // on this turn: a summary may have been appended since
    return false;
  } finally {
    state.stop = null;
    turn.classList.remove("streaming");
  }
}

// Scrolls a turn's end into view; on a phone, above the question box (style.css: scroll-margin)
function reveal(turn) {
  turn.scrollIntoView({ block: "end" });
}

// Whether the end of the transcript is in view (or nearly): what streams in is followed only
// then, not when the reader scrolled up to read an earlier part. The transcript scrolls on a
// wide screen, the whole page on a phone.
function atBottom() {
  const below = (scroller) => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight;
  return below($("transcript")) < 48 && below(document.scrollingElement) < 48;
}

// Changes a turn, then keeps its end in view if the transcript's end was in view before
function follow(turn, change) {
  const following = atBottom();
  change();
  if (following) reveal(turn);
}

function remember(question, result) {
  state.history.push({ role: "user", content: question }, { role: "assistant", content: result.answer });
  state.history = state.history.slice(-HISTORY_MESSAGES);
}

function showResult(turn, result) {
  turn.querySelector(".answer-text").textContent = result.answer; // the checked answer
  turn.classList.toggle("abstained", result.abstained);
  turn.querySelector(".meta").replaceChildren(...metaParts(result, turn.querySelector(".question").textContent));
  const sources = turn.querySelector(".sources");
  sources.replaceChildren(...result.citations.map((citation, index) => sourceItem(turn, citation, index)));
  if (result.citations.length) sources.setAttribute("aria-label", t("sources"));
}

// A question as compared with its rewrite: "électrique ?" and "Électrique?" ask the same
const sameWords = (text) => text.replace(/\s+/g, "").toLocaleLowerCase(LANG);

function metaParts(result, asked) {
  const timings = result.timings || {};
  const parts = [];
  const model = document.createElement("span");
  model.className = "badge model";
  model.textContent = result.model;
  parts.push(model);
  if (result.escalated) {
    const badge = document.createElement("span");
    badge.className = "badge escalated";
    badge.textContent = t("escalated");
    const route = result.route;
    if (route) { // as `ask` prints it, not as JSON
      const score = (value) => (typeof value === "number" ? decimals(value, 2) : "—");
      badge.title = t("escalatedTitle", { from: route.first_model, to: route.answered_by,
        confidence: score(route.confidence), threshold: score(route.threshold) });
    }
    parts.push(badge);
  }
  if (result.abstained) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = t("abstained");
    parts.push(badge);
  }
  if (result.question && sameWords(result.question) !== sameWords(asked)) { // a follow-up, rewritten
    const understood = document.createElement("span");
    understood.className = "understood";
    understood.textContent = t("understoodAs", { question: result.question });
    parts.push(understood);
  }
  const budget = budgetNote(result.prompt);
  if (budget) parts.push(budget);
  const line = [t("firstToken", { s: seconds(timings.ttft_s) }),
    ...(timings.completion_tokens ? [t("speed", { n: Math.round(timings.tokens_per_s || 0) })] : []),
    t("total", { s: seconds(timings.total_s) }), t("queue", { s: seconds(timings.queue_s) })].join(" · ");
  const timing = document.createElement("span");
  timing.className = "timings";
  timing.textContent = line;
  parts.push(timing);
  return parts;
}

// The file name in a source path: a Linux name may hold a backslash, split only on "/" unless the
// path is a Windows one (a drive letter or \\server\share, from a server running on Windows)
function fileName(source) {
  const windows = /^([a-z]:[\\/]|\\\\)/i.test(source);
  return source.split(windows ? /[\\/]/ : "/").pop();
}

// What the prompt budget shortened or left out of the retrieved passages: said, never hidden.
function budgetNote(prompt) {
  if (!prompt || !(prompt.shortened.length || prompt.left_out.length)) return null;
  const note = document.createElement("span");
  note.className = "badge budget";
  note.textContent = t("budget", { n: prompt.shortened.length + prompt.left_out.length });
  const left = prompt.left_out.map((passage) => fileName(passage.source)).join(", ") || "—";
  const shortened = prompt.shortened.map((number) => `[${number}]`).join(", ") || "—";
  note.title = t("budgetTitle", { tokens: prompt.tokens, budget: prompt.budget_tokens, shortened, left });
  return note;
}

function sourceItem(turn, citation, index) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "source";
  const where = [fileName(citation.source)];
  if (citation.page !== null && citation.page !== undefined) where.push(`${t("page")} ${citation.page}`);
  if (citation.section) where.push(citation.section);
  button.textContent = `[${index + 1}] ${where.join(" · ")}`;
  button.addEventListener("click", () => {
    const passage = turn.querySelector(".passage");
    const open = !passage.hidden && passage.dataset.chunk === citation.chunk_id;
    passage.hidden = open;
    passage.dataset.chunk = citation.chunk_id;
    passage.textContent = citation.text;
    if (!open) passage.scrollIntoView({ block: "nearest" });
    for (const other of turn.querySelectorAll(".source")) other.classList.toggle("active", other === button && !open);
  });
  item.append(button);
  return item;
}

async function onAsk(event) {
  event.preventDefault();
  const question = $("question").value.trim();
  // one question at a time: Enter submits the form even while the button is disabled
  if (!question || $("ask-button").disabled) return;
  clearNotice();
  streaming(true);
  $("question").value = "";
  try {
    if (!(await ask(question)) && !$("question").value) $("question").value = question; // not lost
  } finally {
    streaming(false);
    $("question").focus();
  }
}

// While an answer streams, "Ask" gives its place to "Stop"
function streaming(on) {
  $("ask-button").disabled = on;
  $("ask-button").hidden = on;
  $("stop-button").hidden = !on;
}

function stopAnswer() {
  if (state.stop) state.stop();
}

// -- errors, keys, start -------------------------------------------------------------------

// What went wrong, in the page's language where the page knows the case
function describe(error) {
  if (error.code === "unsendable_key") return error.message; // the page's own words
  if (error.code === "offline") return t("offline");
  if (error.status === 401) return state.key ? t("wrongKey") : t("needKey");
  if (error.code === "collection_forbidden") return t("forbidden");
  if (error.code === "too_large") return t("tooLarge", { limit: (state.maxUploadMb ?? "?").toLocaleString(LANG) });
  if (NO_DOCUMENTS.has(error.code)) return t("emptyCollection");
  if (error.code === "unsupported_type") { // the server's message names the file: "'tool.exe': unsupported…"
    const file = /^'(.*)': /.exec(error.message);
    return file ? t("unsupportedFile", { file: file[1] }) : t("error", { message: error.message });
  }
  if (error.code === "model_unavailable") return t("modelUnavailable", { message: error.message });
  const known = { context_length_exceeded: "tooLong", collection_busy: "busy",
    document_not_found: "documentGone", queue_full: "serverBusy", timeout: "timedOut",
    server_shutting_down: "shuttingDown" }[error.code];
  if (known) return t(known);
  return t("error", { message: error.message });
}

function showError(error, turn = null) {
  if (error.code === "document_not_found") loadDocuments().catch(() => {}); // removed elsewhere meanwhile
  const target = turn ? turn.querySelector(".meta") : $("notice");
  const summary = turn && turn.classList.contains("summary"); // not "ask a shorter question"
  target.textContent = summary && error.code === "timeout" ? t("summaryTimedOut") : describe(error);
  target.hidden = false;
  target.classList.add("error");
}

// a new action: the last one's error no longer applies (e.g. the server is back)
function clearNotice() {
  $("notice").hidden = true;
}

function showKeyForm(show) {
  $("key-form").hidden = !show;
  if (show) $("key-input").focus();
}

// A model that could not load: said on opening the page, not at the first question (which
// stays possible: it then gets the server's error)
async function checkModel() {
  const health = await fetch("/health").then((response) => response.json()).catch(() => null);
  const warning = $("model-warning");
  warning.hidden = !(health && health.status === "degraded");
  if (!warning.hidden) warning.textContent = t("modelFailed", { error: health.error || "?" });
  if (health && health.status === "loading") setTimeout(checkModel, 3000); // a server just started
}

function start() {
  translatePage();
  $("ask-form").addEventListener("submit", onAsk);
  $("stop-button").addEventListener("click", stopAnswer);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !event.isComposing && state.stop) { event.preventDefault(); stopAnswer(); }
  });
  $("question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); $("ask-form").requestSubmit(); }
  });
  $("upload-form").addEventListener("submit", onUpload);
  $("delete-collection").addEventListener("click", deleteCollection);
  $("collection").addEventListener("change", (event) => {
    state.collection = event.target.value;
    localStorage.setItem(SAVED_COLLECTION, state.collection);
    state.history = [];
    clearNotice();
    loadDocuments().catch(showError);
  });
  $("new-collection").addEventListener("click", () => {
    const name = (prompt(t("newCollectionPrompt")) || "").trim();
    if (!name) return;
    clearNotice();
    if (!VALID_COLLECTION.test(name) || !name.replace(/\./g, "")) { // "a/b" and ".." never reach a route
      return showError(new ApiError(400, t("invalidCollection", { name })));
    }
    const previous = state.collection, conversation = state.history;
    const back = (error) => { // to the collection before, and its conversation
      state.collection = previous;
      state.history = conversation;
      showError(error);
      loadInfo().catch(showError);
    };
    state.collection = name;
    state.history = [];
    loadInfo().then((refused) => { // a limited key's: it was silently another collection
      if (refused) back(new ApiError(403, t("forbidden"), "collection_forbidden"));
    }).catch((error) => { // e.g. 400 for an invalid name
      back(error.code === "invalid_collection" ? new ApiError(error.status, t("invalidCollection", { name })) : error);
    });
  });
  $("key-button").addEventListener("click", () => showKeyForm($("key-form").hidden));
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("key-input").value.trim();
    const refusal = keyRefusal(key);
    if (refusal) { // not kept: the form stays, to type it again
      showError(refusal);
      $("key-input").focus();
      return;
    }
    state.key = key;
    localStorage.setItem("petitrag.key", state.key);
    showKeyForm(false);
    clearNotice();
    $("question").focus();
    loadInfo().catch(showError);
  });
  // a key saved before it was checked here is not sent: the server then says whether it needs one
  const refusal = keyRefusal(state.key);
  if (refusal) state.key = "";
  loadInfo().catch((error) => showError(refusal && error.status === 401 ? refusal : error));
  checkModel();
}

document.addEventListener("DOMContentLoaded", start);

// Building the page: find an element by id, make elements from data, and the few DOM habits every
// panel shares (an alert line, a busy button, a label/value figure). Everything from the API
// reaches the page as text (textContent, text nodes), never as HTML; `el` is how.

/** The element with `id`; a page without it is a bug, so this throws rather than answer null. */
export function $(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`The page has no element "${id}"`);
  return found;
}

/** An element with attributes (`class`, `data-*`, …; `text` sets its text) and children. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** A `dt`/`dd` pair in a `div.figure`, for the page's lists of figures and facts. */
export function figure(label, ...value) {
  return el("div", { class: "figure" }, el("dt", { text: label }), el("dd", {}, value));
}

/** Shows `text` in the alert line `id`, or hides the line when `text` is empty. */
export function showAlert(id, text) {
  const box = $(id);
  box.textContent = text;
  box.hidden = !text;
}

/** Disables the button `id` while `work` runs (one click, one request); answers its result. */
export async function whileBusy(id, work) {
  const button = $(id);
  button.disabled = true;
  try {
    return await work();
  } finally {
    button.disabled = false;
  }
}

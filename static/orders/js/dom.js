// h("span", {className: "mono", title: id}, "text", child, [more]): an element built with
// createElement, attributes set one by one and text as text nodes, so nothing the
// engine sends is ever parsed as HTML. `className`, `style` (an object) and `dataset`
// (an object) are set as properties; null, undefined and false (as a value or a child)
// are left out.

export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "className" || name === "class") node.className = value;
      else if (name === "style") Object.assign(node.style, value);
      else if (name === "dataset") {
        for (const [key, data] of Object.entries(value)) {
          if (data !== null && data !== undefined) node.dataset[key] = String(data);
        }
      }
      else node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false || child === "") continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function byId(id) {
  return document.getElementById(id);
}

/** The JSON of a json_script element, or `fallback`. */
export function readJSON(id, fallback) {
  const node = byId(id);
  try {
    return node ? JSON.parse(node.textContent) : fallback;
  } catch {
    return fallback;
  }
}

// The DOM helper's safety rules: no inline handlers or styles, no javascript: links.
// A minimal stand-in for `document` is enough: h() only creates elements and sets attributes.
import assert from "node:assert/strict";
import { test } from "node:test";

class FakeElement {
  constructor(tag) {
    this.tag = tag;
    this.attributes = {};
    this.dataset = {};
    this.listeners = {};
    this.children = [];
  }
  setAttribute(k, v) { this.attributes[k] = v; }
  addEventListener(type, fn) { this.listeners[type] = fn; }
  appendChild(child) { this.children.push(child); return child; }
}
globalThis.Node = FakeElement;
globalThis.document = {
  createElement: (tag) => new FakeElement(tag),
  createTextNode: (text) => Object.assign(new FakeElement("#text"), { textContent: text }),
};

const { h, isSafeUrl } = await import("../../static/js/dom.js");

test("text is text: markup in user data never becomes elements", () => {
  const el = h("p", null, "<img src=x onerror=alert(1)>");
  assert.equal(el.children.length, 1);
  assert.equal(el.children[0].tag, "#text");
  assert.equal(el.children[0].textContent, "<img src=x onerror=alert(1)>");
});

test("inline event-handler attributes and styles are refused", () => {
  assert.throws(() => h("div", { onclick: "alert(1)" }), /not allowed/);
  assert.throws(() => h("div", { style: "color:red" }), /not allowed/);
  assert.throws(() => h("iframe", { srcdoc: "<script>" }), /not allowed/);
});

test("a function handler becomes a listener, not an attribute", () => {
  const fn = () => {};
  const el = h("button", { onClick: fn });
  assert.equal(el.listeners.click, fn);
  assert.deepEqual(el.attributes, {});
});

test("links may be web, phone, SMS, mail or relative; never script or data", () => {
  for (const ok of ["https://988lifeline.org", "tel:988", "sms:741741", "mailto:a@b.c", "#/rooms", "/static/x"]) {
    assert.equal(isSafeUrl(ok), true, ok);
    assert.equal(h("a", { href: ok }).attributes.href, ok);
  }
  for (const bad of ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "vbscript:x", "//evil.example", ""]) {
    assert.equal(isSafeUrl(bad), false, bad);
    assert.throws(() => h("a", { href: bad }), /URL not allowed/);
  }
});

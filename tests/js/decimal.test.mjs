import assert from "node:assert/strict";
import { test } from "node:test";

import { decParts, decSub, fmtPct, signed, trimDec } from "../../static/orders/js/decimal.js";

test("decParts splits sign, integer and fraction, and refuses what is not a decimal", () => {
  assert.deepEqual(decParts("-12.034"), { neg: true, int: "12", frac: "034" });
  assert.deepEqual(decParts(" 7 "), { neg: false, int: "7", frac: "" });
  for (const bad of ["", "1e5", "1.", ".5", "abc", "1.2.3", "NaN"]) assert.equal(decParts(bad), null, bad);
});

test("decSub is exact where floats are not", () => {
  assert.equal(decSub("0.3", "0.1"), "0.2");
  assert.equal(decSub("148.210431", "148.2"), "0.010431");
  assert.equal(decSub("1", "1.000"), "0");
  assert.equal(decSub("1.5", "2.25"), "-0.75");
  assert.equal(decSub("-1", "-3"), "2");
  assert.equal(decSub("123456789012345678901.000000001", "0.000000001"), "123456789012345678901");
});

test("decSub falls back to numbers for non-decimal text", () => {
  assert.equal(decSub("1e2", "1"), "99");
  assert.equal(decSub("x", "1"), null);
});

test("fmtPct signs and scales its digits", () => {
  assert.equal(fmtPct(0.00123), "+0.123%");
  assert.equal(fmtPct(-0.015), "−1.500%");
  assert.equal(fmtPct(0.5), "+50.00%");
  assert.equal(fmtPct(0.0000001), "+0.0000%");
  assert.equal(fmtPct(0), "±0.0000%");
  assert.equal(fmtPct(NaN), "");
});

test("signed shows the sign, a typographic minus, ± for zero", () => {
  assert.equal(signed("1.5"), "+1.5");
  assert.equal(signed("-2"), "−2");
  assert.equal(signed("0"), "±0");
  assert.equal(signed(null), "");
});

test("trimDec shortens long fractions but keeps small numbers readable", () => {
  assert.equal(trimDec("148.2104319999", 6), "148.210431");
  assert.equal(trimDec("1.500000000", 6), "1.5");
  assert.equal(trimDec("0.0000012345678", 6), "0.000001234"); // four significant digits
  assert.equal(trimDec("2.25", 6), "2.25");
  assert.equal(trimDec("-3.1234567", 2), "-3.12");
  assert.equal(trimDec(null, 6), "");
  assert.equal(trimDec("n/a", 6), "n/a");
});

test("decAdd is exact too", async () => {
  const { decAdd } = await import("../../static/orders/js/decimal.js");
  assert.equal(decAdd("0.1", "0.2"), "0.3");
  assert.equal(decAdd("1150", "3850"), "5000");
  assert.equal(decAdd("-1.5", "0.25"), "-1.25");
});

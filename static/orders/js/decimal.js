// Exact decimal arithmetic on the API's decimal strings (BigInt); Number as a fallback.

export function decParts(text) {
  let s = String(text).trim();
  if (!/^-?\d+(\.\d+)?$/.test(s)) return null;
  const neg = s[0] === "-";
  if (neg) s = s.slice(1);
  const dot = s.indexOf(".");
  return { neg, int: dot < 0 ? s : s.slice(0, dot), frac: dot < 0 ? "" : s.slice(dot + 1) };
}

/** a - b, exactly, as a decimal string without trailing zeros. */
export function decSub(a, b) {
  return combine(a, b, -1);
}

/** a + b, exactly (the legs of a split add up to the order). */
export function decAdd(a, b) {
  return combine(a, b, 1);
}

function combine(a, b, sign) {
  const pa = decParts(a);
  const pb = decParts(b);
  if (!pa || !pb) {
    const result = Number(a) + sign * Number(b);
    return Number.isFinite(result) ? String(Number(result.toPrecision(12))) : null;
  }
  const scale = Math.max(pa.frac.length, pb.frac.length);
  const big = (p) => {
    const v = BigInt(p.int + p.frac.padEnd(scale, "0"));
    return p.neg ? -v : v;
  };
  let d = sign > 0 ? big(pa) + big(pb) : big(pa) - big(pb);
  const neg = d < 0n;
  if (neg) d = -d;
  const digits = d.toString().padStart(scale + 1, "0");
  let out = scale ? digits.slice(0, digits.length - scale) + "." + digits.slice(digits.length - scale) : digits;
  if (scale) out = out.replace(/0+$/, "").replace(/\.$/, "");
  return (neg ? "-" : "") + out;
}

/** A ratio as a signed percentage: +0.123%, −1.500%, ±0.0000%. */
export function fmtPct(ratio) {
  if (!Number.isFinite(ratio)) return "";
  const pct = ratio * 100;
  const abs = Math.abs(pct);
  const digits = abs >= 10 ? 2 : abs >= 0.01 ? 3 : 4;
  return (pct > 0 ? "+" : pct < 0 ? "−" : "±") + abs.toFixed(digits) + "%";
}

/** A decimal string with its sign shown: +1.5, −2, ±0. */
export function signed(text) {
  if (text === null) return "";
  if (text[0] === "-") return "−" + text.slice(1);
  return (Number(text) === 0 ? "±" : "+") + text;
}

/** Shorten a long decimal string for display (the exact value goes in a title). */
export function trimDec(text, maxFrac) {
  if (text === null || text === undefined) return "";
  const p = decParts(text);
  if (!p || p.frac.length <= maxFrac) return String(text);
  const keep = p.int === "0" ? Math.max(maxFrac, p.frac.search(/[1-9]/) + 4) : maxFrac;
  const frac = p.frac.slice(0, keep).replace(/0+$/, "");
  return (p.neg ? "-" : "") + p.int + (frac ? "." + frac : "");
}

/**
 * Structural checks on JSON text, before anything parses it into values: how deep arrays and
 * objects nest, and whether an object repeats a key. JSON.parse keeps the last of repeated keys
 * without a word (so `{"type":"nope","type":"test-job"}` would quietly become test-job), and
 * recursive checks after it (schema validation) overflow the stack on a few thousand levels.
 * This walks the text once, without recursion.
 */

export type JsonStructureProblem = { kind: "too_deep"; path: string; limit: number } | { kind: "duplicate_key"; path: string; key: string };

interface Open {
  /** Keys seen so far: an object's; null for an array. */
  keys: Set<string> | null;
  /** Inside an object, whether the next string is a key. */
  expectingKey: boolean;
  /** Where this container is, for messages ("body.jobs.2.payload", the paths zod reports). */
  path: string;
  /** The key or index of the value being read inside it. */
  at: string;
  index: number;
}

/** The first structural problem in `text`, or undefined. Malformed JSON is left for JSON.parse to report. */
export function jsonStructureProblem(text: string, maxDepth: number, root = "body"): JsonStructureProblem | undefined {
  const stack: Open[] = [];
  const childPath = () => {
    const top = stack.at(-1);
    if (!top) return root;
    return `${top.path}.${top.keys ? top.at : top.index}`;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \ */) i++;
      const top = stack.at(-1);
      if (top?.keys && top.expectingKey) {
        let key: string;
        try {
          key = JSON.parse(text.slice(start, i + 1)) as string;
        } catch {
          return undefined; // a broken string: JSON.parse will say where
        }
        if (top.keys.has(key)) return { kind: "duplicate_key", path: top.path, key };
        top.keys.add(key);
        top.at = key;
        top.expectingKey = false;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const path = childPath();
      if (stack.length + 1 > maxDepth) return { kind: "too_deep", path, limit: maxDepth };
      stack.push({ keys: c === 0x7b ? new Set() : null, expectingKey: c === 0x7b, path, at: "", index: 0 });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack.at(-1);
      if (top?.keys) top.expectingKey = true;
      else if (top) top.index++;
    }
  }
  return undefined;
}

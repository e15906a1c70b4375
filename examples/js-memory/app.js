// An in-memory Wharf storage plugin in JavaScript (componentize-js).
//
// Objects live in a Map for as long as the plugin instance lives; it mirrors
// examples/python-memory/app.py. Binding conventions (jco):
//   - the exported interface `storage` is the export `storage`; its
//     resources are the classes `Store`, `Reader`, `Writer`, `Lister`;
//   - result<T, E>: return T, or throw E (a variant `{ tag, val }`);
//   - option<T>: undefined for none; u64/s64: BigInt; list<u8>: Uint8Array;
//     records: camelCase fields; tuples: arrays; enums: strings.

const MAX_KEY = 1024;
const encoder = new TextEncoder();

function err(tag, val) {
  return { tag, val };
}

function invalidKey(key, why) {
  return err("invalid-key", `invalid key ${JSON.stringify(key)}: ${why}`);
}

// The contract's key rules (the host checks them too).
function checkKey(key) {
  if (key === "") throw invalidKey(key, "a key cannot be empty");
  if (encoder.encode(key).length > MAX_KEY)
    throw invalidKey(key, `a key is at most ${MAX_KEY} bytes`);
  if (key.includes("\0")) throw invalidKey(key, "a key cannot hold NUL");
  if (key.startsWith("/")) throw invalidKey(key, "a key cannot start with '/'");
  for (const segment of key.split("/")) {
    if (segment === "") throw invalidKey(key, "a key cannot have an empty segment");
    if (segment === "." || segment === "..")
      throw invalidKey(key, `a key cannot hold a '${segment}' segment`);
  }
}

function checkPrefix(prefix) {
  if (prefix === "") return;
  checkKey(prefix.endsWith("/") ? prefix + "x" : prefix);
}

// UTF-8 byte order is code point order; JS's `<` compares UTF-16 code units,
// which differs for characters above U+FFFF against U+E000..U+FFFF.
function compareKeys(a, b) {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0);
    const cy = y.value.codePointAt(0);
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

function now() {
  const ms = Date.now();
  return {
    seconds: BigInt(Math.floor(ms / 1000)),
    nanoseconds: (ms % 1000) * 1_000_000,
  };
}

function concat(parts) {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---- the store -------------------------------------------------------------

// An object's bytes are kept as the list of blocks it was written in, never
// joined into one buffer: a write needs no second copy at `finish`, and
// objects never change once stored, so a copy shares them.
const BLOCK = 256 * 1024;

class StoredObject {
  constructor(blocks, size, contentType, metadata) {
    this.blocks = blocks;
    this.size = size;
    this.contentType = contentType;
    this.metadata = metadata.map(([k, v]) => [k, v]);
    this.modified = now();
  }

  meta(key) {
    return {
      key,
      size: BigInt(this.size),
      lastModified: this.modified,
      etag: undefined,
      contentType: this.contentType,
      metadata: this.metadata.map(([k, v]) => [k, v]),
    };
  }
}

// Reads bytes [start, end) of a list of blocks.
class Reader {
  constructor(blocks, start, end) {
    this.blocks = blocks;
    this.index = 0;
    this.offset = start; // within blocks[index]
    this.left = end - start;
  }

  read(maxBytes) {
    let want = Math.min(Math.max(1, maxBytes), this.left);
    const pieces = [];
    while (want > 0 && this.index < this.blocks.length) {
      const block = this.blocks[this.index];
      if (this.offset >= block.length) {
        this.offset -= block.length;
        this.index++;
        continue;
      }
      const piece = block.subarray(this.offset, this.offset + want);
      pieces.push(piece);
      this.offset += piece.length;
      this.left -= piece.length;
      want -= piece.length;
    }
    return pieces.length === 1 ? pieces[0] : concat(pieces);
  }

  // The host calls this on a read it stops early; later reads return the end.
  close() {
    this.blocks = [];
    this.left = 0;
  }

  // Contract 0.3: no stream to hand the host; every byte comes through read().
  takeStream() {
    return undefined;
  }

  // Never called: takeStream hands nothing over.
  streamEnded(received, failure) {}
}

class Writer {
  constructor(store, key, options) {
    this.store = store;
    this.key = key;
    this.options = options;
    this.blocks = [];
    this.size = 0;
    this.pending = null; // a block being filled from small chunks
    this.filled = 0;
    this.done = false;
  }

  flush() {
    if (this.pending !== null && this.filled > 0)
      this.blocks.push(this.pending.subarray(0, this.filled));
    this.pending = null;
    this.filled = 0;
  }

  write(chunk) {
    if (this.done) throw err("other", "this write was already finished or aborted");
    // The bindings hand over a fresh copy of the chunk, so it can be kept
    // as it is; small chunks are gathered into blocks.
    this.size += chunk.length;
    if (chunk.length >= BLOCK / 4) {
      this.flush();
      this.blocks.push(chunk);
      return;
    }
    let at = 0;
    while (at < chunk.length) {
      if (this.pending === null) {
        this.pending = new Uint8Array(BLOCK);
        this.filled = 0;
      }
      const take = Math.min(BLOCK - this.filled, chunk.length - at);
      this.pending.set(chunk.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      if (this.filled === BLOCK) this.flush();
    }
  }

  finish() {
    if (this.done) throw err("other", "this write was already finished or aborted");
    this.done = true;
    this.flush();
    const obj = new StoredObject(this.blocks, this.size, this.options.contentType, this.options.metadata);
    this.blocks = [];
    this.store.objects.set(this.key, obj);
    return obj.meta(this.key);
  }

  abort() {
    this.done = true;
    this.blocks = [];
    this.pending = null;
  }

  // Contract 0.3: no stream to hand the host; every chunk comes through write().
  takeStream() {
    return undefined;
  }
}

class Lister {
  constructor(entries) {
    this.entries = entries;
    this.at = 0;
  }

  next(maxEntries) {
    const n = Math.max(1, maxEntries);
    const page = this.entries.slice(this.at, this.at + n);
    this.at += page.length;
    return page;
  }

  close() {
    this.entries = [];
    this.at = 0;
  }
}

class Store {
  constructor() {
    this.objects = new Map();
  }

  get(key) {
    checkKey(key);
    const obj = this.objects.get(key);
    if (obj === undefined) throw err("not-found", `no object at ${JSON.stringify(key)}`);
    return obj;
  }

  stat(key) {
    return this.get(key).meta(key);
  }

  read(key, range) {
    const obj = this.get(key);
    const size = BigInt(obj.size);
    const clamp = (v) => Number(v < 0n ? 0n : v > size ? size : v);
    let start = 0;
    let end = obj.size;
    if (range !== undefined && range !== null) {
      switch (range.tag) {
        case "span":
          start = clamp(range.val.offset);
          end = clamp(range.val.offset + range.val.length);
          break;
        case "from":
          start = clamp(range.val);
          break;
        case "suffix":
          start = clamp(size - range.val);
          break;
        default:
          throw err("unsupported", `unknown range ${range.tag}`);
      }
    }
    return new Reader(obj.blocks, start, end);
  }

  write(key, options) {
    checkKey(key);
    return new Writer(this, key, options);
  }

  delete(key) {
    checkKey(key);
    this.objects.delete(key);
  }

  list(prefix, delimiter) {
    checkPrefix(prefix);
    if (delimiter !== undefined && delimiter !== null && delimiter !== "/")
      throw err("unsupported", `delimiter ${JSON.stringify(delimiter)}: only '/' is supported`);
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort(compareKeys);
    const entries = [];
    const seen = new Set();
    for (const key of keys) {
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf("/");
      if (delimiter === "/" && slash >= 0) {
        const common = prefix + rest.slice(0, slash + 1);
        if (!seen.has(common)) {
          seen.add(common);
          entries.push({ tag: "common-prefix", val: common });
        }
        continue;
      }
      entries.push({ tag: "object", val: this.objects.get(key).meta(key) });
    }
    return new Lister(entries);
  }

  copy(source, destination) {
    const obj = this.get(source);
    checkKey(destination);
    const copied = new StoredObject(obj.blocks, obj.size, obj.contentType, obj.metadata);
    this.objects.set(destination, copied);
    return copied.meta(destination);
  }

  // One result per key, in order: a bad key fails alone (contract 0.2).
  deleteMany(keys) {
    return keys.map((key) => {
      try {
        this.delete(key);
        return { tag: "ok", val: undefined };
      } catch (e) {
        if (e && typeof e === "object" && "tag" in e) return { tag: "err", val: e };
        return { tag: "err", val: err("other", String(e)) };
      }
    });
  }

  // Contract 0.3: no etags and no hashes kept (the host hashes the bytes
  // itself when it verifies a copy).
  describe() {
    return {
      etag: { tag: "opaque" },
      hashes: [],
      urls: { tag: "unsupported" },
      createOnly: false,
      checkedWrites: false,
    };
  }

  hash(key, kind) {
    this.get(key);
    throw err("unsupported", `no ${JSON.stringify(kind)} hash here; this plugin keeps none`);
  }

  presign(key, method, expiresIn) {
    throw err("unsupported", "objects in memory have no URLs");
  }

  writeNew(key, options) {
    throw err("unsupported", "this plugin offers no create-only writes");
  }
}

export const storage = {
  Store,
  Reader,
  Writer,
  Lister,

  info() {
    return {
      name: "memory-js",
      version: "0.1.0",
      description: "Objects in memory, for as long as the plugin instance lives (a JavaScript example)",
      options: [],
      capabilities: {
        rangedRead: true,
        listDelimiter: true,
        copy: true,
        contentType: true,
        userMetadata: true,
        lastModified: true,
        etag: false,
        caseInsensitive: false,
        keyAndPrefix: true,
      },
      access: [],
    };
  },

  // Contract 0.3: other tools' names for the options; it has none.
  optionAliases() {
    return [];
  },

  open(options) {
    for (const [name] of options)
      throw err("invalid-config", `unknown option '${name}'; this plugin takes no options`);
    return new Store();
  },
};

// The JavaScript side of the javascript language: runs in node, imports nothing of ours.
// argv: CODE_FD CTL_FD. Cells arrive NUL-terminated; each runs in this one context, so
// `var`, `let`, functions and globals persist. A returned promise is awaited. Events go to
// CTL_FD as JSON lines: {"done": status}, and {"stdin": true|false} when process.stdin starts or
// stops reading (see watchStdin).
"use strict";
const fs = require("fs");
const vm = require("vm");
const util = require("util");

const codeFd = Number(process.argv[2]);
const ctlFd = Number(process.argv[3]);
// Cells run as scripts, not modules: give them `require` as the node REPL does.
globalThis.require = require;
let interrupt = null;
process.on("SIGINT", () => { if (interrupt) interrupt(); });

// Nobody types into stdin. A read of it through process.stdin (readline, 'data', for await) waits
// in libuv's epoll, where the agent cannot see it as it sees a blocked read(): so the kernel says
// when process.stdin reads (its handle's `reading` flag, which node's net.js keeps), and a cell
// is not done while it does, as `node script.js` would not exit. The agent interrupts such a wait
// once it has been silent long enough (input_required); the interrupt lets go of stdin.
let stdinReading = false;
let stdinIdle = null;

function report(reading) {
  if (reading === stdinReading) return;
  stdinReading = reading;
  fs.writeSync(ctlFd, JSON.stringify({ stdin: reading }) + "\n");
  if (!reading && stdinIdle) stdinIdle();
}

function watchStdin(stdin) {
  const handle = stdin._handle;
  if (!handle || !("reading" in handle)) return;
  let reading = handle.reading;
  Object.defineProperty(handle, "reading", {
    configurable: true,
    enumerable: true,
    get: () => reading,
    set: (value) => { reading = value; report(Boolean(value)); },
  });
}

// process.stdin is made on first use; watch it then (touching it sooner would make fd 0
// non-blocking, and fs.readSync(0) would fail instead of waiting where the agent sees it)
const stdinGetter = Object.getOwnPropertyDescriptor(process, "stdin");
let stdinWatched = false;
Object.defineProperty(process, "stdin", {
  configurable: true,
  enumerable: stdinGetter.enumerable,
  get() {
    const stdin = stdinGetter.get.call(process);
    if (!stdinWatched) {
      stdinWatched = true;
      watchStdin(stdin);
    }
    return stdin;
  },
});

async function releaseStdin() {
  const stdin = process.stdin;
  for (const event of ["data", "readable", "keypress"]) stdin.removeAllListeners(event);
  // removing listeners resumes the stream a tick later if 'data' listeners were there: let that pass
  await new Promise((resolve) => setImmediate(resolve));
  stdin.pause();
  const handle = stdin._handle;
  if (handle && handle.reading) { // what node does a tick after pause(), done now
    stdin._readableState.reading = false;
    handle.reading = false;
    handle.readStop();
  }
  stdin.readableFlowing = null; // as before any read: a later on('data') starts reading again
}

async function untilStdinIdle(interrupted) {
  await new Promise((resolve) => setImmediate(resolve)); // a resume() takes effect a tick later
  while (stdinReading) {
    await Promise.race([new Promise((resolve) => { stdinIdle = resolve; }), interrupted]);
  }
  stdinIdle = null;
}

function cleanStack(err) {
  if (!(err instanceof Error) || !err.stack) return String(err);
  return err.stack.split("\n").filter((l) => !/\(node:|node_kernel\.js|^\s+at node:/.test(l)).join("\n");
}

async function runCell(source, n) {
  let status = 0;
  const interrupted = new Promise((_, reject) => {
    interrupt = () => reject(new Error("Script execution interrupted."));
  });
  interrupted.catch(() => {}); // an interrupt while nothing awaits it is handled where it is awaited
  try {
    let value = vm.runInThisContext(source, { filename: `<cell ${n}>`, breakOnSigint: true });
    if (value && typeof value.then === "function") {
      value = await Promise.race([value, interrupted]);
    }
    if (value !== undefined) process.stdout.write(util.inspect(value) + "\n");
    await untilStdinIdle(interrupted);
  } catch (err) {
    process.stderr.write(cleanStack(err) + "\n");
    status = err instanceof Error && /interrupted/.test(err.message) ? 130 : 1;
  } finally {
    interrupt = null;
    stdinIdle = null;
    if (stdinReading) await releaseStdin();
  }
  fs.writeSync(ctlFd, JSON.stringify({ done: status }) + "\n");
}

let buffer = Buffer.alloc(0);
let queue = Promise.resolve();
let count = 0;
const input = fs.createReadStream(null, { fd: codeFd });
input.on("data", (data) => {
  buffer = Buffer.concat([buffer, data]);
  let at;
  while ((at = buffer.indexOf(0)) >= 0) {
    const source = buffer.subarray(0, at).toString("utf8");
    buffer = buffer.subarray(at + 1);
    count += 1;
    const n = count;
    queue = queue.then(() => runCell(source, n));
  }
});
input.on("end", () => queue.then(() => process.exit(0)));

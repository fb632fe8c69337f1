// The JavaScript side of the javascript language: runs in node, imports nothing of ours.
// argv: CODE_FD CTL_FD. Cells arrive NUL-terminated; each runs in this one context, so
// `var`, `let`, functions and globals persist. A returned promise is awaited. Events go to
// CTL_FD as JSON lines: {"done": status}.
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

function cleanStack(err) {
  if (!(err instanceof Error) || !err.stack) return String(err);
  return err.stack.split("\n").filter((l) => !/\(node:|node_kernel\.js|^\s+at node:/.test(l)).join("\n");
}

async function runCell(source, n) {
  let status = 0;
  try {
    let value = vm.runInThisContext(source, { filename: `<cell ${n}>`, breakOnSigint: true });
    if (value && typeof value.then === "function") {
      value = await Promise.race([value, new Promise((_, reject) => {
        interrupt = () => reject(new Error("Script execution interrupted."));
      })]);
    }
    if (value !== undefined) process.stdout.write(util.inspect(value) + "\n");
  } catch (err) {
    process.stderr.write(cleanStack(err) + "\n");
    status = err instanceof Error && /interrupted/.test(err.message) ? 130 : 1;
  } finally {
    interrupt = null;
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

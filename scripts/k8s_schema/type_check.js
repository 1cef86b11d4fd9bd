"use strict";
// Strict check of Kubernetes objects against kubernetes-models' TypeScript interfaces (generated from
// the Kubernetes OpenAPI): every object becomes a typed object literal, so the compiler reports
// fields the schema does not have (a misspelt key: excess-property check) and wrong types. The
// JSON-schema validators in kubernetes-models ignore unknown fields, so this is the half that
// catches typos. Thread-safety: none needed (one synchronous call per process).
const path = require("path");
const ts = require("typescript");

// Module of kubernetes-models that declares the interface for apiVersion, e.g. "apps/v1" -> apps/v1.
function modelDir(apiVersion) {
  return path.join(path.dirname(require.resolve("kubernetes-models/package.json")), apiVersion);
}

// Returns the TypeScript source and, per object, the 1-based line range it occupies.
function buildSource(objects) {
  const lines = [];
  const ranges = [];
  objects.forEach((o, i) => {
    const iface = `I${o.obj.kind}`;
    const file = path.join(modelDir(o.obj.apiVersion), o.obj.kind);
    lines.push(`import type { ${iface} as T${i} } from ${JSON.stringify(file)};`);
  });
  objects.forEach((o, i) => {
    const body = JSON.stringify(o.obj, null, 2).split("\n");
    const first = lines.length + 1;
    lines.push(`export const object${i}: T${i} = ${body[0]}`, ...body.slice(1));
    lines[lines.length - 1] += ";";
    ranges.push({ first, last: lines.length });
  });
  return { source: lines.join("\n") + "\n", ranges };
}

// objects: [{obj, where}] with where naming the object for messages. Returns error strings
// ("<where>: line `<text>`: <compiler message>"); empty when every object type-checks.
function typeCheck(objects) {
  if (objects.length === 0) return [];
  const { source, ranges } = buildSource(objects);
  const fileName = path.join(process.cwd(), "__rendered_manifests__.ts");
  const options = {
    strict: true, noEmit: true, skipLibCheck: true, types: [], lib: ["lib.es2020.d.ts"],
    target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.fileExists = ((fileExists) => (f) => f === fileName || fileExists(f))(host.fileExists.bind(host));
  host.readFile = (f) => (f === fileName ? source : readFile(f));
  host.getSourceFile = (f, v, onError) =>
    f === fileName ? ts.createSourceFile(f, source, v) : getSourceFile(f, v, onError);
  const program = ts.createProgram([fileName], options, host);
  const sourceLines = source.split("\n");
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, " ");
    if (!d.file || d.file.fileName !== fileName) return `TypeScript: ${message}`;
    const line = d.file.getLineAndCharacterOfPosition(d.start).line + 1;
    const index = ranges.findIndex((r) => line >= r.first && line <= r.last);
    const where = index >= 0 ? objects[index].where : "imports";
    return `${where}: line \`${sourceLines[line - 1].trim()}\`: ${message}`;
  });
}

module.exports = { typeCheck };

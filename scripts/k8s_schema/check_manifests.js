"use strict";
// Validates rendered Kubernetes manifests offline (no cluster): each YAML file is one render
// (kubectl kustomize output). Every object is checked three ways:
//   1. kubernetes-models' JSON-schema validator (types, required fields, formats);
//   2. the TypeScript interfaces of the same models, strictly (unknown/misspelt fields, types);
//   3. cross_checks.js (references by name and selectors within the render).
// Usage: node check_manifests.js RENDER.yaml...   Exit 0: all valid; 1: errors (printed); 2: usage.
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");
const { typeCheck } = require("./type_check");
const { crossCheck } = require("./cross_checks");

// The kubernetes-models class for an object, or an error string.
function modelClass(obj) {
  if (!obj || typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") return "no apiVersion/kind";
  if (!/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(obj.apiVersion)) return `bad apiVersion ${obj.apiVersion}`;
  let module;
  try {
    module = require(`kubernetes-models/${obj.apiVersion}`);
  } catch (e) {
    return `no schema for apiVersion ${obj.apiVersion}`;
  }
  return typeof module[obj.kind] === "function" ? module[obj.kind] : `no schema for ${obj.kind} in ${obj.apiVersion}`;
}

function schemaErrors(obj) {
  const cls = modelClass(obj);
  if (typeof cls === "string") return [cls];
  try {
    new cls(obj).validate();
    return [];
  } catch (e) {
    const details = (e.errors || []).map((d) => `${d.instancePath || "/"} ${d.message}`);
    return details.length ? details : [String(e.message || e)];
  }
}

// kustomize writes long base64 values (Secret data) as block scalars with line breaks. The API
// server's base64 decoder skips line breaks; the schema's "byte" format does not.
function unwrapBase64(obj) {
  const maps = [obj.kind === "Secret" && obj.data, obj.kind === "ConfigMap" && obj.binaryData];
  for (const m of maps.filter((x) => x && typeof x === "object")) {
    for (const k of Object.keys(m)) if (typeof m[k] === "string") m[k] = m[k].replace(/[\r\n]/g, "");
  }
}

// Parses one render; returns {objects: [{obj, where}], errors}.
function load(file) {
  const errors = [];
  const objects = [];
  YAML.parseAllDocuments(fs.readFileSync(file, "utf8")).forEach((doc, i) => {
    if (doc.errors.length) { errors.push(`${file} document ${i + 1}: ${doc.errors[0].message}`); return; }
    const obj = doc.toJS();
    if (obj === null || obj === undefined) return;
    unwrapBase64(obj);
    const name = (obj.metadata && obj.metadata.name) || `#${i + 1}`;
    objects.push({ obj, where: `${path.basename(file)} ${obj.kind}/${name}` });
  });
  return { objects, errors };
}

function checkFile(file) {
  const { objects, errors } = load(file);
  if (objects.length === 0 && errors.length === 0) errors.push(`${file}: no objects`);
  const typed = [];
  for (const o of objects) {
    const found = schemaErrors(o.obj);
    errors.push(...found.map((m) => `${o.where}: ${m}`));
    if (typeof modelClass(o.obj) !== "string") typed.push(o);
  }
  errors.push(...typeCheck(typed));
  errors.push(...crossCheck(objects.map((o) => o.obj)).map((m) => `${path.basename(file)} ${m}`));
  return { count: objects.length, kinds: objects.map((o) => o.obj.kind), errors };
}

function main(files) {
  if (files.length === 0) {
    console.error("usage: node check_manifests.js RENDER.yaml...");
    return 2;
  }
  let failed = 0;
  for (const file of files) {
    const { count, kinds, errors } = checkFile(file);
    if (errors.length) {
      failed++;
      for (const e of errors) console.log(`INVALID ${e}`);
    } else {
      const tally = {};
      kinds.forEach((k) => { tally[k] = (tally[k] || 0) + 1; });
      console.log(`valid ${file}: ${count} objects (${Object.entries(tally).map(([k, n]) => `${n} ${k}`).join(", ")})`);
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));

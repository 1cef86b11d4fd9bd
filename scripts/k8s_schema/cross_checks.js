"use strict";
// Checks across one render that no schema expresses, but that break a deployment at apply or run
// time: references by name (Secrets, Services, HPA targets, volumes, named ports), selectors that
// select nothing, probes with more or less than one handler. Pure functions of the object list.

const kWorkloadKinds = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);
const kProbeHandlers = ["exec", "httpGet", "tcpSocket", "grpc"];

const nameOf = (o) => `${o.kind}/${(o.metadata || {}).name}`;
const matches = (selector, labels) =>
  Object.entries(selector || {}).every(([k, v]) => (labels || {})[k] === v);

function podSpecs(objects) {
  return objects.filter((o) => kWorkloadKinds.has(o.kind) && o.spec && o.spec.template)
    .map((o) => ({ owner: o, labels: (o.spec.template.metadata || {}).labels || {}, spec: o.spec.template.spec || {} }));
}

function containersOf(spec) {
  return [...(spec.initContainers || []), ...(spec.containers || [])];
}

function checkPods(objects, has, errors) {
  for (const { owner, labels, spec } of podSpecs(objects)) {
    const where = nameOf(owner);
    const selector = ((owner.spec.selector || {}).matchLabels) || {};
    if (!matches(selector, labels)) errors.push(`${where}: spec.selector does not match the pod template's labels`);
    const volumes = new Set([...(spec.volumes || []).map((v) => v.name),
      ...(owner.spec.volumeClaimTemplates || []).map((c) => (c.metadata || {}).name)]);
    for (const v of spec.volumes || []) {
      if (v.secret && !v.secret.optional && !has("Secret", v.secret.secretName)) errors.push(`${where}: volume ${v.name}: no Secret ${v.secret.secretName} in the render`);
      if (v.configMap && !v.configMap.optional && !has("ConfigMap", v.configMap.name)) errors.push(`${where}: volume ${v.name}: no ConfigMap ${v.configMap.name} in the render`);
    }
    for (const c of containersOf(spec)) {
      const at = `${where} container ${c.name}`;
      for (const m of c.volumeMounts || []) if (!volumes.has(m.name)) errors.push(`${at}: volumeMount ${m.name} names no volume`);
      for (const e of c.env || []) {
        const ref = (e.valueFrom || {}).secretKeyRef;
        if (ref && !ref.optional && !has("Secret", ref.name)) errors.push(`${at}: env ${e.name}: no Secret ${ref.name} in the render`);
      }
      for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
        if (!c[probe]) continue;
        const handlers = kProbeHandlers.filter((h) => c[probe][h] !== undefined);
        if (handlers.length !== 1) errors.push(`${at}: ${probe} needs exactly one of ${kProbeHandlers.join("/")}, has ${handlers.join("+") || "none"}`);
      }
    }
  }
}

function checkServices(objects, errors) {
  const pods = podSpecs(objects);
  for (const s of objects.filter((o) => o.kind === "Service" && o.spec && o.spec.selector)) {
    const selected = pods.filter((p) => matches(s.spec.selector, p.labels));
    if (selected.length === 0) { errors.push(`${nameOf(s)}: selector selects no pod template`); continue; }
    const portNames = new Set(selected.flatMap((p) => containersOf(p.spec).flatMap((c) => (c.ports || []).map((q) => q.name))));
    for (const port of s.spec.ports || []) {
      if (typeof port.targetPort === "string" && !portNames.has(port.targetPort)) {
        errors.push(`${nameOf(s)}: port ${port.name}: targetPort ${port.targetPort} is no container port name`);
      }
    }
  }
}

function checkReferences(objects, errors) {
  const pods = podSpecs(objects);
  for (const o of objects) {
    if (o.kind === "StatefulSet" && o.spec.serviceName) {
      const svc = objects.find((s) => s.kind === "Service" && s.metadata.name === o.spec.serviceName);
      if (!svc) errors.push(`${nameOf(o)}: serviceName ${o.spec.serviceName}: no such Service`);
      else if (svc.spec.clusterIP !== "None") errors.push(`${nameOf(o)}: serviceName ${o.spec.serviceName} is not headless`);
    }
    if (o.kind === "HorizontalPodAutoscaler") {
      const ref = o.spec.scaleTargetRef || {};
      const target = objects.find((t) => t.kind === ref.kind && t.metadata.name === ref.name);
      if (!target) { errors.push(`${nameOf(o)}: scaleTargetRef ${ref.kind}/${ref.name}: not in the render`); continue; }
      if (target.spec.replicas !== undefined) errors.push(`${nameOf(o)}: ${nameOf(target)} sets replicas, which every apply resets under the HPA`);
      const needsCpu = (o.spec.metrics || []).some((m) => m.type === "Resource" && m.resource.name === "cpu");
      const podSpec = (target.spec.template || {}).spec || {};
      for (const c of needsCpu ? podSpec.containers || [] : []) {
        if (!((c.resources || {}).requests || {}).cpu) errors.push(`${nameOf(o)}: container ${c.name} of ${nameOf(target)} has no CPU request to scale on`);
      }
    }
    if (o.kind === "PodDisruptionBudget") {
      const selector = (o.spec.selector || {}).matchLabels;
      if (!pods.some((p) => matches(selector, p.labels))) errors.push(`${nameOf(o)}: selector selects no pod template`);
    }
  }
}

// objects: the plain objects of one render. Returns error strings; empty when consistent.
function crossCheck(objects) {
  const errors = [];
  const has = (kind, name) => objects.some((o) => o.kind === kind && (o.metadata || {}).name === name);
  checkPods(objects, has, errors);
  checkServices(objects, errors);
  checkReferences(objects, errors);
  return errors;
}

module.exports = { crossCheck };

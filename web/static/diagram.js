// Diagrams on the instance page (bpmn-js navigated viewer with markers) and in the designer (modeler).
// The data comes from the page itself: the model XML in a <textarea>, markers/problems as JSON <script>s.
(function () {
  'use strict';

  function byId(id) { return document.getElementById(id); }
  function json(id) { var el = byId(id); return el ? JSON.parse(el.textContent) : null; }

  function badge(text, className, title) {
    var span = document.createElement('span');
    span.className = className;
    span.textContent = text;
    if (title) { span.title = title; }
    return span;
  }

  async function instanceViewer(container) {
    var viewer = new BpmnJS({ container: container });
    await viewer.importXML(byId('diagram-xml').value);
    var canvas = viewer.get('canvas');
    var overlays = viewer.get('overlays');
    var registry = viewer.get('elementRegistry');
    canvas.zoom('fit-viewport', 'auto');
    var markers = json('diagram-markers') || { active: [], completed: {}, incidents: [] };
    Object.keys(markers.completed).forEach(function (id) {
      if (!registry.get(id)) { return; }
      canvas.addMarker(id, 'tf-completed');
      var n = markers.completed[id];
      overlays.add(id, 'tf-count', { position: { bottom: 8, right: 8 },
        html: badge(String(n), 'tf-count', 'completed ' + n + ' time(s)') });
    });
    markers.active.forEach(function (id) {
      if (!registry.get(id)) { return; }
      canvas.addMarker(id, 'tf-active');
      overlays.add(id, 'tf-count', { position: { top: -10, left: -10 }, html: badge('active', 'tf-count active') });
    });
    markers.incidents.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, 'tf-incident'); } });
    container.dataset.ready = 'true';
  }

  function showProblems(modeler, kind) {
    var problems = json('model-problems') || [];
    if (kind !== 'bpmn' || !problems.length) { return; }
    var canvas = modeler.get('canvas');
    var overlays = modeler.get('overlays');
    var registry = modeler.get('elementRegistry');
    var byElement = {};  // one overlay per element, its problems one per line
    var failing = {};  // elements with at least one error (the rest only have warnings)
    problems.forEach(function (p) {
      if (!p.element || !registry.get(p.element)) { return; }
      (byElement[p.element] = byElement[p.element] || []).push('[' + p.rule + '] ' + p.message.slice(0, 140));
      if (p.severity === 'error') { failing[p.element] = true; }
    });
    Object.keys(byElement).forEach(function (id) {
      canvas.addMarker(id, failing[id] ? 'tf-lint-error' : 'tf-lint-warning');
      var box = document.createElement('div');
      box.className = failing[id] ? 'tf-lint' : 'tf-lint warning';
      byElement[id].forEach(function (text) { box.appendChild(badge(text, 'tf-lint-line')); });
      overlays.add(id, 'tf-lint', { position: { bottom: -6, left: 0 }, html: box });
    });
    document.querySelectorAll('[data-show-element]').forEach(function (button) {
      button.addEventListener('click', function () {
        var element = registry.get(button.dataset.showElement);
        if (!element) { return; }
        modeler.get('selection').select(element);
        canvas.scrollToElement(element);
      });
      button.hidden = !registry.get(button.dataset.showElement);
    });
  }

  async function designer(container) {
    var kind = container.dataset.kind;
    var source = byId('model-xml');
    var form = byId('deploy-form');
    var modeler;
    if (kind === 'dmn') {
      modeler = new DmnJS({ container: container });
    } else {
      modeler = TaktflowModeler.create(container, byId('properties'));
    }
    await modeler.importXML(source.value);
    if (kind === 'dmn') {
      var table = modeler.getViews().find(function (v) { return v.type === 'decisionTable'; });
      if (table) { await modeler.open(table); }
    } else {
      modeler.get('canvas').zoom('fit-viewport', 'auto');
    }
    showProblems(modeler, kind);
    source.closest('.field').hidden = true;
    form.addEventListener('submit', async function (event) {
      if (form.dataset.saved === 'true') { return; }
      event.preventDefault();
      var result = await modeler.saveXML({ format: true });
      source.value = result.xml;
      form.dataset.saved = 'true';
      form.submit();
    });
    window.taktflowModeler = modeler;  // the browser tests drive the modeler through its API
    container.dataset.ready = 'true';
  }

  function report(container, error) {
    container.dataset.ready = 'error';
    container.textContent = 'The diagram could not be shown: ' + error.message;
  }

  document.querySelectorAll('[data-viewer="instance"]').forEach(function (c) {
    instanceViewer(c).catch(function (e) { report(c, e); });
  });
  document.querySelectorAll('[data-modeler]').forEach(function (c) {
    designer(c).catch(function (e) { report(c, e); });
  });
})();

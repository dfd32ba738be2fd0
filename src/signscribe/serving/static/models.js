// The model picker and the signs the chosen model knows.
"use strict";

let models = [];
const chosenModel = () => models.find((m) => m.id === $("model").value) || models[0];
const modelQuery = () => (chosenModel() ? `model=${encodeURIComponent(chosenModel().id)}` : "");
// A photo is read by a model of hand shapes (or a video language model), spelled words by one of hand
// shapes: the chosen model if it reads them, else the server's choice (its fingerspelling model).
const modelQueryFor = (...inputs) => (chosenModel() && inputs.includes(chosenModel().input_kind) ? modelQuery() : "");

function showModel() {
  const model = chosenModel();
  if (!model) return;
  $("model-info").textContent = `model: ${model.id} (${model.num_labels} signs)${model.data ? ` · ${model.data}` : ""}`;
  renderSigns();
  showModes();
}

function renderSigns() {
  const model = chosenModel();
  const query = $("sign-search").value.trim().toLowerCase();
  const shown = model ? model.labels.filter((label) => label.toLowerCase().includes(query)) : [];
  $("signs").replaceChildren(...shown.map((label) => {
    const item = document.createElement("li");
    item.textContent = label;
    return item;
  }));
  $("sign-count").textContent = model ? `${shown.length} of ${model.labels.length} signs` : "";
}

async function loadModels() {
  try {
    const response = await fetch("/v1/models", { headers: authHeaders() });
    const body = await response.json();
    if (!response.ok) {
      models = [];
      $("model").replaceChildren(new Option("(no model yet)", ""));
      showStatus($("model-info"), explainFailure(response.status, body), "error");
      return;
    }
    showStatus($("model-info"), "");
    models = body.models;
    $("model").replaceChildren(...models.map((m) => new Option(`${m.id} (${m.num_labels} signs)`, m.id, m.default, m.default)));
    showModel();
  } catch (error) {
    showStatus($("model-info"), `the server cannot be reached (${error.message})`, "error");
  }
}
document.addEventListener("DOMContentLoaded", loadModels); // once every part of the page is loaded
document.addEventListener("key", loadModels);
$("model").addEventListener("change", showModel);
$("sign-search").addEventListener("input", renderSigns);

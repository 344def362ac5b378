// Keyboard rating for medspec studies. Model text is never inserted as HTML: messages use textContent only.
(function () {
  "use strict";
  const form = document.getElementById("rating");
  if (!form) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const mode = form.dataset.mode;
  const status = document.getElementById("status");
  const criteria = Array.from(form.querySelectorAll("fieldset.criterion"));
  let active = 0;

  function go(url) { if (url) window.location.assign(url); }

  function markActive() {
    criteria.forEach(function (fieldset, index) { fieldset.classList.toggle("active", index === active); });
  }

  function firstUnscored() {
    const index = criteria.findIndex(function (fieldset) { return !fieldset.querySelector("input:checked"); });
    return index === -1 ? 0 : index;
  }

  function choose(name, value) {
    const input = form.querySelector('input[name="' + name + '"][value="' + value + '"]');
    if (input) input.checked = true;
    return Boolean(input);
  }

  function collect() {
    if (mode === "pairwise") {
      const picked = form.querySelector('input[name="choice"]:checked');
      if (!picked) return { error: "请先选择：1 回答 1 更好，2 两者相当，3 回答 2 更好。" };
      return { body: { choice: picked.value } };
    }
    const scores = {};
    for (let i = 0; i < criteria.length; i++) {
      const picked = criteria[i].querySelector("input:checked");
      if (!picked) {
        active = i;
        markActive();
        return { error: "还有评分项未评：" + criteria[i].querySelector("legend").textContent.split("：")[0] };
      }
      scores[criteria[i].dataset.name] = Number(picked.value);
    }
    return { body: { scores: scores } };
  }

  let sending = false;
  async function submit() {
    if (sending) return;
    const collected = collect();
    if (collected.error) { status.textContent = collected.error; return; }
    collected.body.comment = form.querySelector("textarea[name=comment]").value;
    sending = true;
    status.textContent = "正在保存…";
    try {
      const response = await fetch(window.location.pathname, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(collected.body),
        credentials: "same-origin",
      });
      const answer = await response.json();
      if (!response.ok) { status.textContent = "未保存：" + answer.error; return; }
      form.dataset.saved = "yes";
      go(answer.next);
    } catch (error) {
      status.textContent = "未保存：无法连接服务器，请稍后重试。";
    } finally {
      sending = false;
    }
  }

  form.addEventListener("submit", function (event) { event.preventDefault(); submit(); });
  document.getElementById("previous").addEventListener("click", function () { go(form.dataset.previous); });
  document.getElementById("following").addEventListener("click", function () { go(form.dataset.following); });
  criteria.forEach(function (fieldset, index) {
    fieldset.addEventListener("change", function () { active = Math.min(index + 1, criteria.length - 1); markActive(); });
  });

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.tagName === "TEXTAREA") {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.key === "Enter") { event.preventDefault(); submit(); return; }
    if (event.key === "ArrowLeft") { event.preventDefault(); go(form.dataset.previous); return; }
    if (event.key === "ArrowRight") { event.preventDefault(); go(form.dataset.following); return; }
    if (mode === "pairwise") {
      const value = { "1": "left", "2": "tie", "3": "right" }[event.key];
      if (value) { event.preventDefault(); choose("choice", value); status.textContent = ""; }
      return;
    }
    if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      event.preventDefault();
      active = Math.max(0, Math.min(criteria.length - 1, active + (event.key === "ArrowUp" ? -1 : 1)));
      markActive();
      return;
    }
    if (/^[0-9]$/.test(event.key) && criteria.length) {
      const fieldset = criteria[active];
      if (choose(fieldset.dataset.name, event.key)) {
        event.preventDefault();
        status.textContent = "";
        if (active < criteria.length - 1) active += 1;
        markActive();
      }
    }
  });

  active = firstUnscored();
  markActive();
})();

// The little script the pages use: the consent signature pad and the scan upload. Both
// fill hidden form fields; the pages work without it (the consent then needs a scan).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var pad = document.getElementById("signature");
  if (pad) {
    var ctx = pad.getContext("2d"), drawing = false, drawn = false;
    ctx.lineWidth = 2; ctx.lineCap = "round"; ctx.strokeStyle = "#1b1f24";
    var at = function (e) { var r = pad.getBoundingClientRect();
      return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height]; };
    pad.addEventListener("pointerdown", function (e) { drawing = true; var p = at(e); ctx.beginPath(); ctx.moveTo(p[0], p[1]); });
    pad.addEventListener("pointermove", function (e) { if (!drawing) return; var p = at(e); ctx.lineTo(p[0], p[1]); ctx.stroke(); drawn = true; });
    var done = function () { if (!drawing) return; drawing = false;
      if (drawn) document.getElementById("signature-data").value = pad.toDataURL("image/png"); };
    pad.addEventListener("pointerup", done); pad.addEventListener("pointerleave", done);
    var clear = document.getElementById("signature-clear");
    if (clear) clear.addEventListener("click", function () { ctx.clearRect(0, 0, pad.width, pad.height); drawn = false;
      document.getElementById("signature-data").value = ""; });
  }
  var scan = document.getElementById("scan");
  if (scan) scan.addEventListener("change", function () {
    var file = scan.files && scan.files[0]; if (!file) return;
    var reader = new FileReader();
    reader.onload = function () { document.getElementById("scan-data").value = reader.result; };
    reader.readAsDataURL(file);
  });
});

// « Encaisser un pass », enhanced: where the browser has a camera and a barcode detector (BarcodeDetector), a
// button scans the pass's QR code, fills the code and asks the server whether it is valid. Without them (or
// without JavaScript) the code is typed: the page works the same. The verdict, once shown, gets the focus.
(function () {
  "use strict";
  var announced = document.querySelector("#verdict, #refus, #encaisse");
  if (announced) { announced.focus(); }

  var button = document.getElementById("scanner-bouton");
  var form = document.getElementById("verifier");
  if (!button || !form || !("BarcodeDetector" in window) || !navigator.mediaDevices ||
      !navigator.mediaDevices.getUserMedia) { return; }
  var detector;
  try { detector = new window.BarcodeDetector({ formats: ["qr_code"] }); } catch (e) { return; }
  var box = document.getElementById("scanner"), video = document.getElementById("camera");
  var status = document.getElementById("scanner-statut"), field = form.elements.code;
  var stream = null;

  function stop() {
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
    stream = null;
    box.hidden = true;
    button.textContent = "Scanner le QR code";
  }

  function look() {
    if (!stream) { return; }
    detector.detect(video).then(function (codes) {
      var found = codes.map(function (c) { return c.rawValue; }).filter(function (v) { return /^[0-9A-Za-z -]{16,24}$/.test(v); });
      if (found.length) {
        field.value = found[0];
        status.textContent = "QR code lu : vérification du pass.";
        stop();
        form.submit();
      } else {
        requestAnimationFrame(look);
      }
    }).catch(function () { requestAnimationFrame(look); });
  }

  button.hidden = false;
  button.addEventListener("click", function () {
    if (stream) { stop(); field.focus(); return; }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
      stream = s;
      video.srcObject = s;
      box.hidden = false;
      button.textContent = "Arrêter la caméra";
      status.textContent = "Caméra ouverte : placez le QR code du pass devant l'objectif.";
      video.play().then(look);
    }).catch(function () {
      status.textContent = "Caméra indisponible : saisissez le code imprimé sous le QR code.";
      box.hidden = false;
      field.focus();
    });
  });
})();

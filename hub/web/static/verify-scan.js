// Scanning a certificate's QR code with the device camera on /verify (progressive enhancement: the
// paste form works without it). Frames of the camera (getUserMedia on a <video>) are drawn to a
// canvas and decoded in the browser — by the browser's BarcodeDetector when it has one, else by
// jsQR (npm jsqr, vendored under /static/vendor/jsqr/, loaded only when needed). The decoded text
// goes into the paste form, which is submitted: the hub verifies it as it verifies pasted text.
// Nothing leaves the device but that text.
(function () {
  "use strict";
  var section = document.getElementById("scan");
  var form = document.getElementById("qr-form");
  var payload = document.getElementById("payload");
  var start = document.getElementById("scan-start");
  var stop = document.getElementById("scan-stop");
  var status = document.getElementById("scan-status");
  var video = document.getElementById("scan-video");
  var canvas = document.getElementById("scan-canvas");
  var media = navigator.mediaDevices;
  if (!section || !form || !payload || !start || !stop || !video || !canvas || !media || !media.getUserMedia) {
    return; // no camera API (or not a secure context): the section stays hidden
  }
  var JSQR_SRC = "/static/vendor/jsqr/jsQR.js";
  var INTERVAL_MS = 150;
  var stream = null;
  var timer = null;
  var decode = null;

  function say(text) {
    status.textContent = text;
  }

  function barcodeDetector() {
    if (!("BarcodeDetector" in window)) {
      return Promise.resolve(null);
    }
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") < 0) {
        return null;
      }
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      return function () {
        return detector.detect(canvas).then(function (codes) {
          return codes.length ? codes[0].rawValue : null;
        });
      };
    }, function () { return null; });
  }

  function jsQRFunction() {
    var lib = window.jsQR;
    return typeof lib === "function" ? lib : (lib && lib["default"]) || null;
  }

  function loadJsQR() {
    if (jsQRFunction()) {
      return Promise.resolve(jsQRFunction());
    }
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = JSQR_SRC;
      script.onload = function () { resolve(jsQRFunction()); };
      script.onerror = function () { reject(new Error("jsQR did not load")); };
      document.head.appendChild(script);
    });
  }

  function jsQRDecoder() {
    return loadJsQR().then(function (jsQR) {
      if (!jsQR) {
        return null;
      }
      var context = canvas.getContext("2d", { willReadFrequently: true });
      return function () {
        var image = context.getImageData(0, 0, canvas.width, canvas.height);
        var found = jsQR(image.data, image.width, image.height, { inversionAttempts: "attemptBoth" });
        return Promise.resolve(found ? found.data : null);
      };
    });
  }

  function decoder() {
    if (decode) {
      return Promise.resolve(decode);
    }
    return barcodeDetector().then(function (detect) {
      return detect || jsQRDecoder();
    }).then(function (found) {
      decode = found;
      return found;
    });
  }

  function halt() {
    if (timer !== null) {
      window.clearTimeout(timer);
      timer = null;
    }
    if (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
    }
    video.srcObject = null;
    video.hidden = true;
    stop.hidden = true;
    start.hidden = false;
  }

  function found(text) {
    halt();
    payload.value = text;
    say("已读出二维码，正在核验……");
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.submit();
    }
  }

  function frame() {
    timer = null;
    if (!stream) {
      return;
    }
    if (video.readyState >= 2 && video.videoWidth > 0) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext("2d", { willReadFrequently: true }).drawImage(video, 0, 0, canvas.width, canvas.height);
      decode().then(function (text) {
        if (text) {
          found(text);
        } else if (stream) {
          timer = window.setTimeout(frame, INTERVAL_MS);
        }
      }, function () {
        if (stream) {
          timer = window.setTimeout(frame, INTERVAL_MS);
        }
      });
      return;
    }
    timer = window.setTimeout(frame, INTERVAL_MS);
  }

  function begin() {
    say("正在打开摄像头……");
    decoder().then(function (ready) {
      if (!ready) {
        throw new Error("no decoder");
      }
      return media.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    }).then(function (camera) {
      stream = camera;
      video.srcObject = camera;
      video.hidden = false;
      start.hidden = true;
      stop.hidden = false;
      say("请把证照上的二维码对准摄像头。");
      return video.play();
    }).then(function () {
      frame();
    }).catch(function (error) {
      halt();
      if (error && error.name === "NotAllowedError") {
        say("没有获准使用摄像头。可以用其他扫码工具读出二维码，再把内容粘贴到上面的表单。");
      } else {
        say("无法使用摄像头扫描。可以用其他扫码工具读出二维码，再把内容粘贴到上面的表单。");
      }
    });
  }

  section.hidden = false;
  start.addEventListener("click", begin);
  stop.addEventListener("click", function () {
    halt();
    say("已停止扫描。");
  });
  window.addEventListener("pagehide", halt);
})();

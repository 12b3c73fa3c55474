import { X } from "#db"; console.log("ok", X);

#!/usr/bin/env node
// The published entry point runs the bundle (npm run build). Its source maps
// are in dist/ too: NODE_OPTIONS=--enable-source-maps makes stack traces name
// src/ files and lines (off by default: parsing them costs ~10 MB).
import '../dist/main.js';

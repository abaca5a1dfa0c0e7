#!/usr/bin/env node
// The published entry point runs the compiled build (npm run build).
import '../dist/main.js';

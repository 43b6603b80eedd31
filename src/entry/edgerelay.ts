#!/usr/bin/env node
import { cli } from '../cli/edgerelay.js';

void cli(process.argv.slice(2));

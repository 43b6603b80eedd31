#!/usr/bin/env node
import { cli } from '../cli/edgectl.js';

void cli(process.argv.slice(2));

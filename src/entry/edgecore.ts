#!/usr/bin/env node
import { cli } from '../cli/edgecore.js';

void cli(process.argv.slice(2));

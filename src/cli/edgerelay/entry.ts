#!/usr/bin/env node
import { cli } from './main.js';

void cli(process.argv.slice(2));

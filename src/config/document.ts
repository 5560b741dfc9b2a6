import { Kind, type TObject, type TSchema } from '@sinclair/typebox';
import { stringify } from 'yaml';
import { annotations, configSchema } from './schema.js';

/** Wraps a description into `# ` comment lines of at most ~100 columns. */
function comment(text: string, indent: string): string[] {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if ((line + ' ' + w).trim().length > 96 - indent.length) {
      lines.push(line.trim());
      line = '';
    }
    line += ' ' + w;
  }
  if (line.trim()) lines.push(line.trim());
  return lines.map((l) => `${indent}# ${l}`);
}

function render(schema: TObject, indent: string): string[] {
  const out: string[] = [];
  for (const [key, sub] of Object.entries(schema.properties) as [string, TSchema][]) {
    const a = annotations(sub);
    const notes = [a.description ?? ''];
    if (a.env) notes.push(`Environment: ${a.env}.`);
    if (a.secret) notes.push('Secret: may be given as file:/path/to/file.');
    out.push(...comment(notes.join(' '), indent));
    if (sub[Kind] === 'Object') {
      out.push(`${indent}${key}:`);
      out.push(...render(sub as TObject, indent + '  '));
      out.pop();
    } else {
      out.push(`${indent}${key}: ${stringify(a.default).trim()}`);
    }
    out.push('');
  }
  return out;
}

/** `config/default.yaml`: every key with its description, environment variable and default. */
export function renderDefaultConfig(): string {
  const header = [
    '# Gatehouse configuration: every key, its default and its environment variable.',
    '# Generated from src/config/schema.ts (`node dist/cli.js print-default-config`); a test keeps it in step.',
    '# Copy the keys you change into your own file and point GATEHOUSE_CONFIG at it;',
    '# environment variables override the file.',
    '',
  ];
  return [...header, ...render(configSchema, '')].join('\n').replace(/\n+$/, '\n');
}

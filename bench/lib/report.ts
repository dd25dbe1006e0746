export interface Target {
  op: '>=' | '<=';
  value: number;
}

export interface Figure {
  id: string;
  label: string;
  value: number;
  unit: string;
  /** Absent for a figure that is reported for context and judged by no target. */
  target?: Target;
}

export interface JudgedFigure extends Figure {
  verdict: 'PASS' | 'MISS' | 'INFO';
}

export interface Report {
  generatedAt: string;
  environment: Record<string, string | number | boolean>;
  figures: JudgedFigure[];
  notes: string[];
  measurements: Record<string, unknown>;
}

export const judge = (figure: Figure): JudgedFigure => {
  const { target } = figure;
  if (target === undefined) return { ...figure, verdict: 'INFO' };
  const met = target.op === '>=' ? figure.value >= target.value : figure.value <= target.value;
  return { ...figure, verdict: met ? 'PASS' : 'MISS' };
};

const digits = (value: number): number => (Math.abs(value) >= 100 ? 1 : Math.abs(value) >= 1 ? 2 : 3);

export const formatValue = (value: number, unit: string): string =>
  `${value.toFixed(digits(value))}${unit === '' ? '' : ` ${unit}`}`;

const formatTarget = (figure: Figure): string =>
  figure.target
    ? `${figure.target.op === '>=' ? '≥' : '≤'} ${formatValue(figure.target.value, figure.unit)}`
    : '—';

const row = (figure: JudgedFigure): string[] => [
  figure.id,
  figure.label,
  formatValue(figure.value, figure.unit),
  formatTarget(figure),
  figure.verdict,
];

const HEADER = ['#', 'Figure', 'Measured', 'Target', 'Result'];

export const toConsole = (report: Report): string => {
  const rows = [HEADER, ...report.figures.map(row)];
  const widths = HEADER.map((_, column) => Math.max(...rows.map((r) => (r[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ');
  return [line(HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
};

export const toMarkdown = (report: Report): string => {
  const table = [HEADER, HEADER.map(() => '---'), ...report.figures.map(row)].map(
    (cells) => `| ${cells.join(' | ')} |`,
  );
  const environment = Object.entries(report.environment).map(([key, value]) => `- ${key}: ${value}`);
  return [
    '# Fanout engine benchmark',
    '',
    `Generated ${report.generatedAt} by \`npm run bench\`. Every number below was measured in that run.`,
    '',
    ...table,
    '',
    '## How each figure is measured',
    '',
    ...report.notes.map((note) => `- ${note}`),
    '',
    '## Environment',
    '',
    ...environment,
    '',
  ].join('\n');
};

// graphiql.mjs: driving notifyql's GraphiQL page as a person would: typing into its Monaco
// editors, pressing its buttons and reading its result pane.
//
// Monaco draws only the lines in view, each as a .view-line positioned by its top; the
// result pane is short enough here to be in view whole.

const queryEditor = '.graphiql-query-editor .monaco-editor';
const headersEditor = 'section.graphiql-editor-tool .graphiql-editor:not(.hidden) .monaco-editor';
const resultPane = '[aria-label="Result Window"] .monaco-editor';
const executeButton = 'button[aria-label^="Execute query"]';

// openGraphiQL opens the origin's home page, which redirects to GraphiQL, and waits until
// its query editor is ready. It returns the path the browser ended up on.
export async function openGraphiQL(page, origin) {
  const response = await page.goto(`${origin}/`);
  if (!response.ok()) throw new Error(`GET / → ${page.url()}: ${response.status()}`);
  await page.locator(queryEditor).waitFor({ timeout: 15000 });
  return new URL(page.url()).pathname;
}

// replaceText selects everything in an editor and puts text in its place. insertText types
// no keys one by one, so the editor's bracket and quote completion does not add to it.
async function replaceText(page, editor, text) {
  await page.locator(editor).click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  if (text) await page.keyboard.insertText(text);
}

// setHeaders opens the Headers tab and puts text (JSON) in its editor.
export async function setHeaders(page, text) {
  await page.getByRole('button', { name: 'Headers', exact: true }).click();
  await replaceText(page, headersEditor, text);
}

// setQuery puts an operation in the query editor and waits until GraphiQL has read it: the
// page parses the editor's text a moment after each change, and running before that would
// send the previous operation's name (and take a subscription for a query). The active tab's
// title, the operation's name, says when it has.
export async function setQuery(page, text) {
  await replaceText(page, queryEditor, text);
  const name = /^\s*(?:query|mutation|subscription)\s+(\w+)/.exec(text)?.[1] ?? '<untitled>';
  await page
    .getByRole('tab', { selected: true })
    .filter({ hasText: new RegExp(`^\\s*${name}\\s*$`) })
    .waitFor({ timeout: 5000 });
}

// editorText is an editor's text as drawn, lines in order.
async function editorText(page, editor) {
  return page.locator(`${editor} .view-lines`).evaluate((lines) =>
    [...lines.querySelectorAll('.view-line')]
      .map((line) => ({ top: parseFloat(line.style.top) || 0, text: line.textContent }))
      .sort((a, b) => a.top - b.top)
      .map((line) => line.text.replace(/\u00a0/g, ' '))
      .join('\n')
      .trim(),
  );
}

export function resultText(page) {
  return editorText(page, resultPane);
}

// waitForResult polls the result pane until accept(text) is true, and returns the text.
export async function waitForResult(page, accept, what, timeout = 10000) {
  const deadline = Date.now() + timeout;
  let text = '';
  while (Date.now() < deadline) {
    text = await resultText(page);
    if (accept(text)) return text;
    await page.waitForTimeout(100);
  }
  throw new Error(`the result pane never showed ${what}; it shows ${JSON.stringify(text)}`);
}

// execute presses the run button and waits for a result other than what the pane showed
// before (at first, the schema's introspection answer or nothing). GraphiQL sets the pane's
// text whole, so the first change is the whole result. Long lines are wrapped as drawn.
export async function execute(page) {
  const before = await resultText(page);
  await page.locator(executeButton).click();
  return waitForResult(page, (text) => text !== '' && text !== before, 'a new result');
}

// storedText is everything the page keeps in localStorage, for a test to check that no
// secret was stored. GraphiQL saves its tabs a moment after each change, so this waits (a
// few seconds at most) until what is stored mentions the operation last run.
export async function storedText(page, operation) {
  const read = () => page.evaluate(() => Object.entries(window.localStorage).map(([k, v]) => `${k}=${v}`).join('\n'));
  const deadline = Date.now() + 5000;
  let text = await read();
  while (!text.includes(JSON.stringify(operation).slice(1, -1)) && Date.now() < deadline) {
    await page.waitForTimeout(100);
    text = await read();
  }
  return text;
}

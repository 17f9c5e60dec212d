#!/usr/bin/env bash
# Fails when a document's link or a file path it names breaks: in README.md, docs/*.md and
# every other README.md of the repository, each Markdown link to a relative path must name
# an existing file or folder (and its #anchor a heading of that file), and each `path` in
# backquotes that starts with one of the repository's top folders must exist. Code blocks
# are skipped (they hold commands and build products, checked by pasting, not here).
set -euo pipefail
cd "$(dirname "$0")/.."

top_folders='runtime|launcher|kernels|examples|bench|tests|docs|cmake|fuzz|\.ci'
broken=0
report() { echo "docs: $1" >&2; broken=$((broken + 1)); }

# GitHub's anchor of a heading: lower case, punctuation but - and _ dropped, spaces to -.
anchors_of() {
  sed -n 's/^#\{1,6\} \(.*\)$/\1/p' "$1" | tr '[:upper:]' '[:lower:]' |
    sed -e 's/`//g' -e 's/[^a-z0-9 _-]//g' -e 's/ /-/g'
}

# The document without fenced code blocks and without inline code spans.
prose_of() { awk '/^```/ { fenced = !fenced; next } !fenced' "$1" | sed 's/`[^`]*`//g'; }

# The inline code spans outside fenced blocks, one a line.
code_spans_of() { awk '/^```/ { fenced = !fenced; next } !fenced' "$1" | grep -o '`[^`]*`' | tr -d '`'; }

mapfile -t documents < <(git ls-files '*.md')
for doc in "${documents[@]}"; do
  dir=$(dirname "$doc")
  while IFS= read -r target; do
    case "$target" in
      http://* | https://* | mailto:*) continue ;;  # not checked offline
    esac
    path=${target%%#*}
    anchor=""
    [[ $target == *"#"* ]] && anchor=${target#*#}
    file=$doc
    if [ -n "$path" ]; then
      file=$dir/$path
      [ -e "$file" ] || { report "$doc: link '$target': no such file $file"; continue; }
    fi
    if [ -n "$anchor" ] && [ -f "$file" ] && [[ $file == *.md ]]; then
      anchors_of "$file" | grep -qxF -- "$anchor" || report "$doc: link '$target': no heading for #$anchor in $file"
    fi
  done < <(prose_of "$doc" | grep -oE '\]\([^) ]+\)' | sed -e 's/^](//' -e 's/)$//')
  while IFS= read -r span; do
    # A path of the repository: a top folder, then path characters only (no spaces, globs,
    # placeholders such as <x>, or build products).
    [[ $span =~ ^($top_folders)/[A-Za-z0-9_./+-]*$ ]] || continue
    [ -e "$span" ] || [ -e "$dir/$span" ] || report "$doc: names '$span', which does not exist"
  done < <(code_spans_of "$doc")
done
if [ $broken -gt 0 ]; then
  echo "docs: $broken broken link(s) or path(s)" >&2
  exit 1
fi
echo "docs: every link and path in ${#documents[@]} documents resolves"

#!/usr/bin/env bash
# The documentation cannot drift from the binaries (issue 13.14: the README's mtdctl
# list lacked six commands, the agent's man page three options, and --json was shown as
# required where the output is JSON either way). For mtd-agent, mtdctl and mtd-collector:
#   - the man page's SYNOPSIS (rendered by groff) has exactly the forms --help prints,
#     one line per command, word for word;
#   - every option --help names is explained in the man page outside its SYNOPSIS, and
#     every option the man page names is one --help knows;
#   - every line of every --help fits 80 columns;
#   - the README's table of binaries names exactly the commands --help lists, and every
#     command line the README shows is a known command with options it takes.
source "$(dirname "$0")/lib.sh"
SRC=${MTD_SRC:?}
command -v groff >/dev/null || fail "groff is not installed (scripts/install-deps installs groff-base)"

python3 - "$BIN" "$SRC" <<'PY' || fail "the documentation differs from --help"
import re, subprocess, sys
BIN, SRC = sys.argv[1], sys.argv[2]
OPT = re.compile(r'(?<![\w-])--[a-z][a-z0-9-]*')
norm = lambda s: ' '.join(s.split())
problems = []

def run(*args):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and p.stderr == '', (args, p.returncode, p.stderr)
    if '--help' in args:  # usage fits an 80-column terminal (13.7's rule for tables)
        for l in p.stdout.splitlines():
            if len(l) > 80:
                problems.append(f'{" ".join(args[:1] + args[1:])}: a line of {len(l)} columns: {l}')
    return p.stdout

def commands(tool):
    """{words: synopsis as one line} of every command --help lists."""
    out = {}
    for line in run(f'{BIN}/{tool}', '--help').splitlines():
        if re.match(r'^  [a-z]', line):
            words = []
            for w in re.split(r'\s{2,}', line.strip())[0].split():
                if not re.fullmatch(r'[a-z][a-z-]*', w):
                    break
                words.append(w)
            one = run(f'{BIN}/{tool}', *words, '--help').splitlines()
            syn = [one[0][len('usage: '):]] + [l for l in one[1:] if l.startswith(' ' * 8)]
            out[' '.join(words)] = norm(' '.join(syn))
    return out

def man(page):
    """(SYNOPSIS lines, the rest) of a man page as groff renders it, unwrapped."""
    text = run('groff', '-man', '-Tascii', '-rLL=1000n', '-P', '-cbou', f'{SRC}/docs/man/{page}')
    m = re.search(r'^SYNOPSIS\n(.*?)\n(?=[A-Z][A-Z ]+\n)', text, re.S | re.M)
    assert m, page + ': no SYNOPSIS'
    syn = [norm(l) for l in m.group(1).splitlines() if l.strip()]
    return syn, text[:m.start()] + text[m.end():]

pages = {'mtd-agent': 'mtd-agent.1', 'mtdctl': 'mtdctl.1', 'mtd-collector': 'mtd-collector.8'}
readme = open(f'{SRC}/README.md').read()
for tool, page in pages.items():
    full = run(f'{BIN}/{tool}', '--help')
    cmds = commands(tool)
    head = norm(full.split('\n\n')[0].splitlines()[0][len('usage: '):]) if cmds else \
           norm(' '.join(full.split('\n\n')[0].splitlines()))[len('usage: '):]
    want = {head} | set(cmds.values())
    syn, body = man(page)
    for s in sorted(want - set(syn)):
        problems.append(f'{page}: SYNOPSIS lacks "{s}"')
    for s in sorted(set(syn) - want):
        problems.append(f'{page}: SYNOPSIS has "{s}", which --help does not')
    opts = set(OPT.findall(full))
    for o in sorted(opts - set(OPT.findall(body))):
        problems.append(f'{page}: {o} is not explained outside the SYNOPSIS')
    for o in sorted(set(OPT.findall(body)) - opts - {'--help', '--version'}):
        problems.append(f'{page}: names {o}, which {tool} --help does not')
    # the README's row for the binary
    row = re.search(r'^\| `' + re.escape(tool) + r'` \|(.*)\|\s*$', readme, re.M)
    if not row:
        problems.append(f'README.md: no row for {tool}')
        continue
    named = re.findall(r'`([^`]+)`', row.group(1))
    if cmds:
        tops = {c.split()[0] for c in cmds}
        for c in sorted(tops - set(named)):
            problems.append(f'README.md: the {tool} row lacks `{c}`')
        for c in sorted(set(named) - tops):
            problems.append(f'README.md: the {tool} row names `{c}`, which is no {tool} command')
    else:
        for o in sorted(set(OPT.findall(' '.join(named))) - opts):
            problems.append(f'README.md: the {tool} row names {o}, which {tool} --help does not')
    # every command line the README shows
    for line in re.findall(r'^\s*(?:\$ )?(?:build/bin/)?' + re.escape(tool) + r' (.*)$', readme, re.M):
        words = line.split('#')[0].split()
        glob = set(OPT.findall(full.split('\n\n')[0])) | ({'--limit', '--offset', '--all'} if tool == 'mtdctl' else set())
        while tool == 'mtdctl' and words and words[0] in glob:
            words = words[2:] if words[0] in ('--server', '--token', '--ca-file') else words[1:]
        name = next((c for c in sorted(cmds, key=len, reverse=True)
                     if words[:len(c.split())] == c.split()), None)
        if cmds and not name:
            problems.append(f'README.md: "{tool} {line}" is no {tool} command')
            continue
        allowed = set(OPT.findall(cmds[name] if cmds else full)) | glob
        for o in sorted(set(OPT.findall(' '.join(words))) - allowed):
            problems.append(f'README.md: "{tool} {line}": {o} is not an option of it')
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PY
ok "man pages and README list every command and option of mtd-agent, mtdctl and mtd-collector as --help does"
finish

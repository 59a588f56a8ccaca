#!/usr/bin/env bash
# --help and -h after every command (issue 13.12: `mtd-agent run --help` said "unknown
# option"): each command of mtd-agent and mtdctl, as the full --help lists them, prints
# that command's usage on stdout, nothing on stderr, and exits 0, also after other
# options and after a mistake; an option's value "-h" stays a value; mtd-collector
# (no commands) answers --help and -h anywhere an option may be.
source "$(dirname "$0")/lib.sh"

python3 - "$BIN" <<'PY' || fail "a command's --help"
import re, subprocess, sys
BIN = sys.argv[1]

def run(*args):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr

def commands(tool):
    """(words, synopsis first line) of every command the full usage lists."""
    rc, out, err = run(f'{BIN}/{tool}', '--help')
    assert rc == 0 and err == '', (tool, rc, err)
    found = []
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if not re.match(r'^  [a-z]', line):
            continue
        synopsis = re.split(r'\s{2,}', line.strip())[0]
        for more in lines[i + 1:]:  # a form too long for a line goes on, indented by 4
            if not re.match(r'^    \S', more):
                break
            synopsis += ' ' + more.strip()
        words = []
        for w in synopsis.split():
            if not re.fullmatch(r'[a-z][a-z-]*', w):
                break
            words.append(w)
        found.append((words, synopsis))
    return out, found

checked = 0
for tool, common in (('mtd-agent', ''), ('mtdctl', '[OPTIONS] ')):
    full, cmds = commands(tool)
    assert len(cmds) >= 10, (tool, cmds)
    for words, synopsis in cmds:
        want = f'usage: {tool} {common}{synopsis}'
        forms = [words + ['--help'], words + ['-h'], ['help'] + words,
                 words + ['--bogus-option', '--help']]         # a mistake first: help wins
        if tool == 'mtd-agent':
            forms.append(words + ['--state', '/nonexistent', '-h'])
        else:
            forms.append(['--server', 'http://127.0.0.1:9', '--token', 't'] + words + ['--help'])
        first = None
        for f in forms:
            rc, out, err = run(f'{BIN}/{tool}', *f)
            assert rc == 0, (tool, f, rc, err)
            assert err == '', (tool, f, err)
            got = out.splitlines()  # the form, and its lines indented past "usage: "
            form = ' '.join([got[0]] + [l.strip() for l in got[1:] if l.startswith(' ' * 8)])
            assert form == want, (tool, f, form, want)
            assert len(out) < len(full), (tool, f, 'printed the whole usage')
            first = first or out
            assert out == first, (tool, f, 'differs from', words + ['--help'])
            checked += 1

# a command with several forms lists each of them
rc, out, err = run(f'{BIN}/mtd-agent', 'inventory', '--help')
assert rc == 0 and err == '' and out.startswith('usage: mtd-agent COMMAND, with COMMAND one of:\n'), out
assert '\n  inventory device ' in out and '\n  inventory apps ' in out and 'enroll' not in out, out
rc, out, err = run(f'{BIN}/mtdctl', 'tenant', '-h')
assert rc == 0 and [l.split()[1] for l in out.splitlines() if l.startswith('  tenant ')] == ['create', 'list', 'delete'], out
# "-h" as an option's value is that value, not a request for help
rc, out, err = run(f'{BIN}/mtd-agent', 'feedback', '--state', '/nonexistent', '--type', 'idea', '--comment', '-h')
assert rc != 0 and 'usage' not in out and err.count('\n') == 1 and 'not enrolled' in err, (rc, out, err)
# an unknown command asking for help is an error, in one line
for tool in ('mtd-agent', 'mtdctl'):
    rc, out, err = run(f'{BIN}/{tool}', 'nosuch', '--help')
    assert rc != 0 and out == '' and err == f'{tool}: unknown command "nosuch" (see {tool} --help)\n', (tool, rc, out, err)
# a command given the wrong words answers its form from the same table, in one line
for tool, args, name in (('mtd-agent', ['url-check'], 'url-check'), ('mtd-agent', ['dns-filter'], 'dns-filter'),
                         ('mtd-agent', ['feed', 'bogus'], 'feed compile'),
                         ('mtdctl', ['--server', 'http://127.0.0.1:9', '--token', 't', 'risk'], 'risk')):
    rc, out, err = run(f'{BIN}/{tool}', *args)
    rc2, one, _ = run(f'{BIN}/{tool}', *name.split(), '--help')
    lines = one.splitlines()
    form = ' '.join(' '.join([lines[0][len('usage: '):]] + [l for l in lines[1:] if l.startswith(' ' * 8)]).split())
    assert rc != 0 and out == '' and err == f'{tool}: usage: {form}\n', (tool, args, err, form)
# the collector has no commands: --help and -h anywhere an option may be
for f in (['--help'], ['-h'], ['--data', '/nonexistent', '--help'], ['--threads', 'abc', '-h']):
    rc, out, err = run(f'{BIN}/mtd-collector', *f)
    assert rc == 0 and err == '' and out.startswith('usage: mtd-collector --data DIR'), (f, rc, out, err)
print(f'{checked} command --help forms checked')
PY
ok "every command of mtd-agent and mtdctl prints its own usage after --help or -h (exit 0, stdout only)"
finish

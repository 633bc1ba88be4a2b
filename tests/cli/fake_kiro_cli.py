# The part of the fake `kiro-cli` (the test harness writes its shell front, which answers
# `--version` and records argv and the environment) that follows Kiro's documented
# behaviour, written from the documentation and the public 2.x source, not copied from
# Kiro's code. Arguments: the fake's path, its version, then kiro-cli's own arguments.
# - It loads the agent named by `--agent` the way the engine of that version would:
#   1.x classic (JSON, unknown fields refused); 2.x V2 (JSON, unknown fields ignored;
#   V3 with --v3 or --agent-engine v3; classic with --no-interactive or --classic);
#   3.x V3 (Markdown frontmatter or JSON, dropped without a `permissions` object holding
#   `rules`; V2 with --v2 or --no-interactive). JSON agents are found by their `name`
#   field, Markdown agents by file name; the working directory's `.kiro/agents/` wins
#   over the global one. It writes the agent it loaded (a path, or `default`) to
#   `$0.agent`.
# - With `$0.events` present (one JSON tool call a line: {"tool_name", "tool_input"}), it
#   runs the loaded agent's preToolUse hooks on each the way Kiro's hook runner does:
#   through the shell with `-c`, the event as JSON on stdin, in the session's working
#   directory, with the session's environment; exit 2 blocks, anything else lets the
#   tool run. Each outcome goes to `$0.hooks` as a JSON list.
import json
import os
import re
import subprocess
import sys

import yaml

me = sys.argv[1]
version = tuple(int(x) for x in sys.argv[2].split("-")[0].split("."))
args = sys.argv[3:]


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()




def flag_value(name):
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


engine = {1: "v1", 2: "v2", 3: "v3"}.get(version[0])
asked = flag_value("--agent-engine")
if "--v3" in args:
    asked = "v3"
if "--v2" in args:
    asked = "v2"
if asked:
    engine = {"kas": "v3"}.get(asked, asked)
elif version[0] == 3 and "--no-interactive" in args:
    engine = "v2"
elif version[0] == 2 and ({"--no-interactive", "--legacy-ui", "--classic"} & set(args)):
    engine = "v1"
name = flag_value("--agent")


def agent_dirs():
    """The workspace's agents directory first (it wins), then the global one."""
    cwd, home = os.getcwd(), os.environ["HOME"]
    dirs = [] if cwd == home else [os.path.join(cwd, ".kiro", "agents")]
    return dirs + [os.path.join(home, ".kiro", "agents")]


def candidates(ext):
    """Markdown agents by file name; JSON agents by their `name` field."""
    found = []
    for d in agent_dirs():
        if ext == ".md":
            p = os.path.join(d, name + ext)
            if os.path.exists(p):
                found.append(p)
            continue
        for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            p = os.path.join(d, f)
            if f.endswith(".json"):
                try:
                    if json.loads(read(p)).get("name") == name:
                        found.append(p)
                except ValueError:
                    pass
    return found


CLASSIC_FIELDS = {
    "$schema", "name", "description", "prompt", "mcpServers", "tools", "toolAliases",
    "allowedTools", "toolsSettings", "resources", "hooks", "useLegacyMcpJson", "model",
}


def load():
    """The agent definition the engine uses, as (path, hooks in one shape) or None."""
    if name is None or engine not in ("v1", "v2", "v3"):
        return None
    if engine in ("v1", "v2"):
        for path in candidates(".json"):
            try:
                agent = json.loads(read(path))
            except ValueError:
                return None
            if engine == "v1" and set(agent) - CLASSIC_FIELDS:
                return None
            hooks = [
                {"command": h["command"], "matcher": h.get("matcher"),
                 "timeout": h.get("timeout_ms", 30000) / 1000}
                for h in agent.get("hooks", {}).get("preToolUse", [])
            ]
            return path, hooks
        return None
    for path in candidates(".md") + candidates(".json"):
        text = read(path)
        if path.endswith(".md"):
            m = re.match(r"\A---\n(.*?)\n---\n", text, re.S)
            if not m:
                continue
            agent = yaml.safe_load(m.group(1))
        else:
            agent = json.loads(text)
        perms = agent.get("permissions") if isinstance(agent, dict) else None
        if not isinstance(perms, dict) or not isinstance(perms.get("rules"), list):
            continue
        hooks = [
            {"command": h["action"]["command"], "matcher": h.get("matcher"),
             "timeout": h.get("timeout", 30), "regex": True}
            for h in agent.get("hooks", [])
            if h.get("trigger") == "PreToolUse" and h.get("enabled", True)
            and h.get("action", {}).get("type") == "command"
        ]
        return path, hooks
    return None


loaded = load()
if loaded is None and name is not None:
    print(f'agent "{name}" not found, using "default"', file=sys.stderr)
with open(me + ".agent", "w") as f:
    f.write(loaded[0] if loaded else "default")

if os.path.exists(me + ".events") and loaded:
    outcomes = []
    for line in read(me + ".events").splitlines():
        call = json.loads(line)
        event = {
            "hook_event_name": "PreToolUse" if engine == "v3" else "preToolUse",
            "cwd": os.getcwd(),
            "session_id": "fake-session",
            "tool_name": call["tool_name"],
            "tool_input": call["tool_input"],
        }
        blocked = None
        for hook in loaded[1]:
            matcher = hook.get("matcher")
            if matcher and not (
                re.fullmatch(matcher, call["tool_name"]) if hook.get("regex")
                else matcher in ("*", call["tool_name"])
            ):
                continue
            shell = os.environ.get("KIRO_CHAT_SHELL", "bash")
            try:
                run = subprocess.run(
                    [shell, "-c", hook["command"]], input=json.dumps(event).encode(),
                    capture_output=True, timeout=hook["timeout"], cwd=os.getcwd(),
                )
                code, err = run.returncode, run.stderr.decode()
            except subprocess.TimeoutExpired:
                code, err = None, "timeout"
            if code == 2:
                blocked = err.strip()
                break
        outcomes.append({"tool_name": call["tool_name"], "tool_input": call["tool_input"],
                         "blocked": blocked})
    with open(me + ".hooks", "w") as f:
        json.dump(outcomes, f)

"""The console commands (``posessl <verb>``, ``posessl-<verb>``): each runs
the script of that name under ``tools/`` with ``runpy``, taking the same
options, with configs given by path or by name.
"""
import difflib
import os
import os.path as osp
import runpy
import sys
from typing import Dict, List, NamedTuple, Optional

from posessl.errors import LauncherError

__all__ = [
    'TOOLS', 'resource_root', 'config_names',
    'resolve_config', 'resolve_arguments', 'run_tool', 'main', 'train',
    'test', 'infer', 'make_data', 'pipeline'
]

PACKAGE_DIR = osp.dirname(osp.abspath(__file__))


class Tool(NamedTuple):
    """A script under ``tools/`` that a command runs."""
    script: str  #: path under ``tools/``
    summary: str
    takes_configs: bool = True  #: whether config names are resolved


#: ``posessl <verb>`` -> the script it runs; ``posessl-<verb>`` commands
#: exist for the first five.
TOOLS: Dict[str, Tool] = {
    'train': Tool('train.py', 'train a model with MMEngine\'s Runner'),
    'test': Tool('test.py', 'test a checkpoint: ADD(-S) table, BOP CSV'),
    'infer': Tool('infer.py', 'the pose of an object in an image'),
    'make-data': Tool('make_synthetic_linemod.py',
                      'render a synthetic LINEMOD-format set',
                      takes_configs=False),
    'pipeline': Tool('run_pipeline.py', 'the main job: data, pretraining, '
                     'pose training, test'),
    'pseudo-label': Tool('pseudo_label.py',
                         'pseudo-labels for the unlabelled frames'),
    'visualize': Tool('visualize_pose.py', 'pose overlays of chosen images'),
    'embedding-map': Tool('analysis/embedding_map.py',
                          'the pretrained latent space, coloured by view'),
    'triplet-views': Tool('analysis/triplet_views.py',
                          "the triplet sampler's view differences"),
}


def resource_root() -> str:
    """The folder that holds ``configs/`` and ``tools/``: the checkout
    posessl is imported from, else the installed package's ``posessl/.mim``
    (OpenMMLab's layout, which ``mim train posessl CONFIG`` uses too)."""
    checkout = osp.dirname(PACKAGE_DIR)
    if all(osp.exists(osp.join(checkout, name))
           for name in ('setup.py', 'configs', 'tools')):
        return checkout
    return osp.join(PACKAGE_DIR, '.mim')


def _folder(name: str, root: Optional[str]) -> str:
    root = resource_root() if root is None else root
    path = osp.join(root, name)
    if not osp.isdir(path):
        raise LauncherError(
            f'{path} is missing: this posessl was installed without its '
            f'{name} (reinstall it from a wheel or an sdist, or run the '
            'tools of a checkout)')
    return path


def config_names(root: Optional[str] = None) -> Dict[str, str]:
    """Every runnable config (``_base_`` excluded): name -> file."""
    configs = _folder('configs', root)
    names: Dict[str, str] = {}
    for folder, subfolders, files in os.walk(configs):
        subfolders[:] = sorted(d for d in subfolders if d != '_base_')
        for file in sorted(files):
            if file.endswith('.py'):
                names.setdefault(file[:-3], osp.join(folder, file))
    return names


def resolve_config(arg: str, root: Optional[str] = None) -> Optional[str]:
    """The config file ``arg`` means, or ``None`` if it means none.

    ``arg`` is an existing file (returned unchanged), a path relative to
    the folder holding ``configs/`` or to ``configs/`` itself
    (``configs/pose/x.py``, ``pose/x.py``), or a config name with or
    without ``.py``. Relative paths inside a config stay relative to the
    current folder.
    """
    if osp.isfile(arg):
        return arg
    root = resource_root() if root is None else root
    for base in (root, osp.join(root, 'configs')):
        candidate = osp.join(base, arg)
        if not osp.isabs(arg) and osp.isfile(candidate):
            return osp.abspath(candidate)
    if os.sep in arg or (os.altsep and os.altsep in arg):
        return None  # a path that exists nowhere
    return config_names(root).get(_stem(arg))


def _stem(path: str) -> str:
    """The config name in ``path``: its base name without ``.py``."""
    name = osp.basename(path)
    return name[:-3] if name.endswith('.py') else name


def resolve_arguments(argv: List[str],
                      root: Optional[str] = None) -> List[str]:
    """``argv`` with each config name or shipped config path replaced by
    its file; option values (``key=value``) and existing paths are kept.

    Raises:
        LauncherError: An argument that looks like a config (ends in
            ``.py``, or is a near miss of a config's name) names none.
    """
    names = list(config_names(root))
    resolved = []
    for arg in argv:
        if arg.startswith('-') or '=' in arg or osp.exists(arg):
            resolved.append(arg)
            continue
        path = resolve_config(arg, root)
        if path is not None:
            resolved.append(path)
        elif arg.endswith('.py') or difflib.get_close_matches(
                _stem(arg), names, n=1, cutoff=0.8):
            close = difflib.get_close_matches(_stem(arg), names, n=3,
                                              cutoff=0.6)
            hint = f'; closest: {", ".join(close)}' if close else ''
            raise LauncherError(
                f'config {arg!r} not found: it is no file and no config '
                f"has that name{hint} ('posessl configs' lists them)")
        else:
            resolved.append(arg)
    return resolved


def run_tool(verb: str, argv: List[str], prog: Optional[str] = None,
             root: Optional[str] = None) -> int:
    """Run the script of ``verb`` with ``argv`` as its command line.

    Returns:
        int: 0 when the script returns; its own ``SystemExit`` passes
        through unchanged (exit status, ``error: ...`` line).
    """
    tool = TOOLS[verb]
    script = osp.join(_folder('tools', root), tool.script)
    if tool.takes_configs:
        argv = resolve_arguments(argv, root)
    saved = sys.argv
    sys.argv = [prog or f'posessl-{verb}'] + list(argv)
    try:
        runpy.run_path(script, run_name='__main__')
    finally:
        sys.argv = saved
    return 0


def _list_configs(argv: List[str]) -> int:
    names = config_names()
    words = [w.lower() for w in argv]
    shown = [name for name in names
             if all(word in name.lower() for word in words)]
    width = max((len(name) for name in shown), default=0)
    for name in shown:
        print(f'{name:{width}s}  {names[name]}')
    if not shown:
        raise LauncherError(f'no config name contains {" ".join(argv)!r}')
    return 0


def _usage() -> str:
    verbs = '\n'.join(f'  {verb:14s} {tool.summary}'
                      for verb, tool in TOOLS.items())
    return ('usage: posessl <command> [arguments]\n\ncommands (each takes '
            "-h; a config is a path or a name):\n"
            f'{verbs}\n  {"configs":14s} list the configs '
            '(names containing the given words)\n')


def _exit_code(body) -> int:
    try:
        return body()
    except LauncherError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1


def main(argv: Optional[List[str]] = None) -> int:
    """``posessl <command> [arguments]``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ('-h', '--help'):
        print(_usage(), end='')
        return 0 if argv else 2
    verb, rest = argv[0], argv[1:]
    if verb == 'configs':
        return _exit_code(lambda: _list_configs(rest))
    if verb not in TOOLS:
        close = difflib.get_close_matches(verb, list(TOOLS) + ['configs'],
                                          n=1)
        hint = f' (did you mean {close[0]!r}?)' if close else ''
        print(f"error: unknown command {verb!r}{hint}; 'posessl -h' lists "
              'them', file=sys.stderr)
        return 2
    return _exit_code(lambda: run_tool(verb, rest, prog=f'posessl {verb}'))


def _command(verb: str):

    def command(argv: Optional[List[str]] = None) -> int:
        argv = sys.argv[1:] if argv is None else list(argv)
        return _exit_code(lambda: run_tool(verb, argv))

    command.__name__ = verb.replace('-', '_')
    command.__doc__ = f'``posessl-{verb}``: {TOOLS[verb].summary}.'
    return command


train = _command('train')
test = _command('test')
infer = _command('infer')
make_data = _command('make-data')
pipeline = _command('pipeline')

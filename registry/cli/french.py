"""Click's own words in French: the frame of the CLI's errors and help (« Erreur : », « Utilisation : », « Valeur
invalide pour… »), around messages that are already French; and the help of the commands and options Flask and
its extensions add to ``registry`` (``run``, ``shell``, ``routes``, ``limiter``, ``openapi``, ``--app``…).

Click marks these strings for gettext but ships no catalogue, and reads them through the ``_`` and ``ngettext``
names each of its modules imported from ``gettext``; ``install`` points those names at this catalogue. A string
it does not know stays as Click wrote it. Flask's and the extensions' commands are Click objects with English
help: ``translate`` sets theirs from ``COMMANDS`` and ``OPTIONS``.
"""

from __future__ import annotations

import importlib

#: Click's messages (its gettext ids) and their French.
MESSAGES = {
    "Error: {message}": "Erreur : {message}",
    "Usage:": "Utilisation :",
    "Try '{command} {option}' for help.": "Essayez « {command} {option} » pour l'aide.",
    "Invalid value for {param_hint}: {message}": "Valeur invalide pour {param_hint} : {message}",
    "Invalid value: {message}": "Valeur invalide : {message}",
    "Missing argument": "Argument manquant",
    "Missing option": "Option manquante",
    "Missing parameter": "Paramètre manquant",
    "Missing parameter: {param_name}": "Paramètre manquant : {param_name}",
    "Missing {param_type}": "{param_type} manquant",
    "Missing command.": "Commande manquante.",
    "No such command {name!r}.": "Commande inconnue : {name!r}.",
    "No such option {name!r}.": "Option inconnue : {name!r}.",
    "Option {name!r} does not take a value.": "L'option {name!r} ne prend pas de valeur.",
    "Argument {name!r} takes {nargs} values.": "L'argument {name!r} prend {nargs} valeurs.",
    "Show this message and exit.": "Afficher ce message et quitter.",
    "Show the version and exit.": "Afficher la version et quitter.",
    "Options": "Options",
    "Commands": "Commandes",
    "Positional arguments": "Arguments",
    "Aborted!": "Abandon.",
    "Do you want to continue?": "Continuer ?",
    "Repeat for confirmation": "Répétez pour confirmer",
    "Error: The two entered values do not match.": "Erreur : les deux valeurs saisies diffèrent.",
    "Error: invalid input": "Erreur : saisie invalide",
    "Confirm the action without prompting.": "Confirmer sans poser la question.",
    "default: {default}": "par défaut : {default}",
    "env var: {var}": "variable d'environnement : {var}",
    "Could not open file {filename!r}: {message}": "Impossible d'ouvrir le fichier {filename!r} : {message}",
    "file": "Fichier",
    "directory": "Dossier",
    "path": "Chemin",
    "{name} {filename!r} does not exist.": "{name} {filename!r} introuvable.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} est un dossier.",
    "{name} {filename!r} is a file.": "{name} {filename!r} est un fichier.",
    "{name} {filename!r} is not readable.": "{name} {filename!r} illisible (droits).",
    "{name} {filename!r} is not writable.": "{name} {filename!r} non inscriptible (droits).",
    "{value!r} is not a valid {number_type}.": "{value!r} n'est pas un nombre valide ({number_type}).",
    "{value} is not in the range {range}.": "{value} hors de l'intervalle {range}.",
    "{value!r} is not a valid UUID.": "{value!r} n'est pas un UUID valide.",
    "unknown error": "erreur inconnue",
}
#: Click's messages with a plural (singular id, plural id) and their French (singular, plural).
PLURALS = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"):
        ("Argument en trop : {args}", "Arguments en trop : {args}"),
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"):
        ("Vouliez-vous dire {possibility} ?", "(Vouliez-vous dire : {possibilities} ?)"),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."):
        ("L'option {name!r} attend une valeur.", "L'option {name!r} attend {nargs} valeurs."),
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."):
        ("{value!r} n'est pas {choice}.", "{value!r} n'est pas parmi {choices}."),
}
#: Help of the commands Flask and its extensions add, by command path: (help, short help or ``None``).
COMMANDS = {
    ("run",): ("Lancer un serveur de développement local (pas pour la production : gunicorn).",
               "Lancer un serveur de développement."),
    ("shell",): ("Ouvrir un interpréteur Python interactif dans le contexte de l'application.",
                 "Ouvrir un interpréteur dans le contexte de l'application."),
    ("routes",): ("Lister les routes de l'application, avec leurs points d'entrée et leurs méthodes.",
                  "Lister les routes de l'application."),
    ("limiter",): ("Limites de débit (Flask-Limiter) : configuration, limites par route, remise à zéro.", None),
    ("limiter", "clear"): ("Remettre à zéro les limites d'une clé.", None),
    ("limiter", "config"): ("Afficher la configuration des limites de débit.", None),
    ("limiter", "limits"): ("Lister les routes soumises à une limite de débit, avec leurs limites.", None),
    ("openapi",): ("Description OpenAPI de l'API.", None),
    ("openapi", "print"): ("Afficher la description OpenAPI (JSON ou YAML).", None),
    ("openapi", "write"): ("Écrire la description OpenAPI (JSON ou YAML) dans un fichier.", None),
    ("openapi", "list-config-prefixes"): ("Lister les préfixes de configuration des API.", None),
}
#: Help of their options, by (command path, option name).
OPTIONS: dict[tuple[tuple[str, ...], str], str] = {
    ((), "env_file"): "Lire des variables d'environnement dans ce fichier (avant « .env » et « .flaskenv » ; celles "
                      "déjà définies l'emportent). Demande python-dotenv.",
    ((), "app"): "L'application Flask ou sa fabrique, « module:nom » (inutile ici : registry la connaît).",
    ((), "debug"): "Mode débogage.",
    (("run",), "debug"): "Mode débogage.",
    (("run",), "host"): "L'interface où écouter.",
    (("run",), "port"): "Le port où écouter.",
    (("run",), "cert"): "Un certificat, pour servir en HTTPS.",
    (("run",), "key"): "La clé du certificat.",
    (("run",), "reload"): "Relancer le serveur quand un fichier change (par défaut en mode débogage).",
    (("run",), "debugger"): "Le débogueur interactif (par défaut en mode débogage).",
    (("run",), "with_threads"): "Servir plusieurs requêtes à la fois (fils d'exécution).",
    (("run",), "extra_files"): "D'autres fichiers dont le changement relance le serveur (séparés par « : »).",
    (("run",), "exclude_patterns"): "Les fichiers à ces motifs (fnmatch) ne relancent pas le serveur (séparés par "
                                    "« : »).",
    (("routes",), "sort"): "Tri des routes (« match » : l'ordre dans lequel Flask les essaie).",
    (("routes",), "all_methods"): "Montrer aussi HEAD et OPTIONS.",
    (("limiter", "clear"), "endpoint"): "Seulement ce point d'entrée.",
    (("limiter", "clear"), "path"): "Seulement ce chemin.",
    (("limiter", "clear"), "method"): "Seulement cette méthode HTTP.",
    (("limiter", "clear"), "key"): "La clé dont remettre les limites à zéro.",
    (("limiter", "clear"), "y"): "Sans demander de confirmation.",
    (("limiter", "limits"), "endpoint"): "Seulement ce point d'entrée.",
    (("limiter", "limits"), "path"): "Seulement ce chemin.",
    (("limiter", "limits"), "method"): "Seulement cette méthode HTTP.",
    (("limiter", "limits"), "key"): "Tester les limites pour cette clé.",
    (("limiter", "limits"), "watch"): "Suivre en direct.",
    (("openapi", "print"), "format"): "Format de la description.",
    (("openapi", "print"), "config_prefix"): "Préfixe de configuration de l'API.",
    (("openapi", "write"), "format"): "Format de la description.",
    (("openapi", "write"), "config_prefix"): "Préfixe de configuration de l'API.",
}
#: The placeholders of their options' values (Click names them in English).
METAVARS = {((), "env_file"): "FICHIER", ((), "app"): "MODULE:NOM", (("run",), "cert"): "FICHIER",
            (("run",), "key"): "FICHIER", (("run",), "extra_files"): "CHEMINS",
            (("run",), "exclude_patterns"): "MOTIFS", (("openapi", "write"), "output_file"): "FICHIER"}


CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types", "utils")


def gettext(message: str) -> str:
    return MESSAGES.get(message, message)


def ngettext(singular: str, plural: str, count: int) -> str:
    french = PLURALS.get((singular, plural))
    if french is None:
        return singular if count == 1 else plural
    return french[0] if count == 1 else french[1]


def install() -> None:
    """Point Click's modules at this catalogue."""
    for name in CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = gettext
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext


def translate(command, path: tuple[str, ...]) -> None:
    """Set the French help of ``command`` (at ``path`` in ``registry``), its options' and its subcommands'."""
    if path in COMMANDS:
        command.help, command.short_help = COMMANDS[path]
    for param in command.params:
        if (path, param.name) in OPTIONS:
            param.help = OPTIONS[(path, param.name)]
        if (path, param.name) in METAVARS:
            param.metavar = METAVARS[(path, param.name)]
    for name, sub in getattr(command, "commands", {}).items():
        translate(sub, (*path, name))

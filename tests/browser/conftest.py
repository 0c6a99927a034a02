"""The ``browser`` marker: tests that drive a real JupyterLab in Debian's chromium.

Run ``scripts/setup-browser.sh`` (as root) to install chromium and playwright-core;
without them these tests skip and say why.
"""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: drives JupyterLab in a real headless chromium (Playwright); "
                   "needs scripts/setup-browser.sh")

"""One logging set-up for every Lambda: Powertools' JSON Logger for the handlers, and the same handler and level
(POWERTOOLS_LOG_LEVEL, INFO unless set) for the service modules' standard loggers (`logging.getLogger(__name__)`
under chalicelib), which would otherwise be dropped (the Lambda runtime's root logger only passes WARNING and above)."""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

SERVICE_LOGGERS = "chalicelib"


def lambda_logger(service: str) -> Logger:
    """The handlers' Logger; the service loggers share its handler (JSON, Lambda context keys) from now on."""
    logger = Logger(service=service)
    logging.getLogger(SERVICE_LOGGERS)  # registered first: modules imported later inherit its handler and level
    copy_config_to_registered_loggers(source_logger=logger, include={SERVICE_LOGGERS})
    return logger

#!/bin/sh
exec cat /app/src/handler.txt

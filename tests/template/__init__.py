"""Checks on ``template.yaml``: our rules over the template as CloudFormation sees it, and a deployment into moto."""

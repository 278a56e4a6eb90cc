"""Application services shared by every interface."""

from podium.services.tasks import TaskNotFound, TaskReader, TaskService, build_provider

__all__ = ["TaskNotFound", "TaskReader", "TaskService", "build_provider"]

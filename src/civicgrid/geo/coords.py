"""WGS-84 ⇄ GCJ-02 ⇄ BD-09, for the edges of the system (phones, Chinese map tiles).

Storage is always WGS-84. GCJ-02 is the obfuscated datum that Chinese maps and phone SDKs
use inside mainland China; BD-09 is Baidu's further offset of it. Outside (roughly) mainland
China both equal WGS-84, which is what the map providers serve there. The forward GCJ-02
formula is the widely published one; its inverse has no closed form, so `gcj02_to_wgs84`
iterates the forward transform until the error is below 1e-9 degrees (~0.1 mm). The published
BD-09 inverse is closed-form but approximate, so it is polished the same way.

Each conversion has a scalar form (one point: case intake, the locate endpoint) and an array
form `*_array` over numpy arrays (importing thousands of polygon vertices).
"""

from __future__ import annotations

import math
from enum import StrEnum

import numpy as np


class CRS(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the GCJ-02 formula uses
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0
_INVERSE_TOLERANCE = 1e-9
_INVERSE_ROUNDS = 30


def out_of_china(lon: float, lat: float) -> bool:
    """GCJ-02 applies only in (roughly) mainland China; elsewhere it equals WGS-84."""
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    if out_of_china(lon, lat):
        return lon, lat
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = math.sin(radlat)
    magic = 1 - _EE * magic * magic
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    if out_of_china(lon, lat):
        return lon, lat
    wlon, wlat = lon, lat
    for _ in range(_INVERSE_ROUNDS):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        dlon, dlat = glon - lon, glat - lat
        wlon, wlat = wlon - dlon, wlat - dlat
        if abs(dlon) < _INVERSE_TOLERANCE and abs(dlat) < _INVERSE_TOLERANCE:
            break
    return wlon, wlat


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    if out_of_china(lon, lat):
        return lon, lat
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    if out_of_china(lon, lat):
        return lon, lat
    # The published closed form is off by up to ~1.5e-6 degrees; polish it like the GCJ inverse.
    x, y = lon - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    glon, glat = z * math.cos(theta), z * math.sin(theta)
    for _ in range(_INVERSE_ROUNDS):
        blon, blat = gcj02_to_bd09(glon, glat)
        dlon, dlat = blon - lon, blat - lat
        glon, glat = glon - dlon, glat - dlat
        if abs(dlon) < _INVERSE_TOLERANCE and abs(dlat) < _INVERSE_TOLERANCE:
            break
    return glon, glat


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """Raises ValueError for an unknown coordinate system."""
    match CRS(crs):
        case CRS.WGS84:
            return lon, lat
        case CRS.GCJ02:
            return gcj02_to_wgs84(lon, lat)
        case CRS.BD09:
            return bd09_to_wgs84(lon, lat)


def from_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """Raises ValueError for an unknown coordinate system."""
    match CRS(crs):
        case CRS.WGS84:
            return lon, lat
        case CRS.GCJ02:
            return wgs84_to_gcj02(lon, lat)
        case CRS.BD09:
            return wgs84_to_bd09(lon, lat)


# --- The same conversions over arrays (same formulas, numpy ufuncs instead of math). ---

Arrays = tuple[np.ndarray, np.ndarray]


def _in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> Arrays:
    x, y = lon - 105.0, lat - 35.0
    sx = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    inside = _in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02_array(lon: np.ndarray, lat: np.ndarray) -> Arrays:
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84_array(lon: np.ndarray, lat: np.ndarray) -> Arrays:
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    inside = _in_china(lon, lat)
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(_INVERSE_ROUNDS):
        glon, glat = wgs84_to_gcj02_array(wlon, wlat)
        dlon, dlat = glon - lon, glat - lat
        wlon, wlat = wlon - dlon, wlat - dlat
        if np.all(np.abs(dlon) < _INVERSE_TOLERANCE) and np.all(np.abs(dlat) < _INVERSE_TOLERANCE):
            break
    return np.where(inside, wlon, lon), np.where(inside, wlat, lat)


def gcj02_to_bd09_array(lon: np.ndarray, lat: np.ndarray) -> Arrays:
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    inside = _in_china(lon, lat)
    return (
        np.where(inside, z * np.cos(theta) + 0.0065, lon),
        np.where(inside, z * np.sin(theta) + 0.006, lat),
    )


def bd09_to_gcj02_array(lon: np.ndarray, lat: np.ndarray) -> Arrays:
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    x, y = lon - 0.0065, lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(_INVERSE_ROUNDS):
        blon, blat = gcj02_to_bd09_array(glon, glat)
        dlon, dlat = blon - lon, blat - lat
        glon, glat = glon - dlon, glat - dlat
        if np.all(np.abs(dlon) < _INVERSE_TOLERANCE) and np.all(np.abs(dlat) < _INVERSE_TOLERANCE):
            break
    inside = _in_china(lon, lat)
    return np.where(inside, glon, lon), np.where(inside, glat, lat)


def to_wgs84_array(lon: np.ndarray, lat: np.ndarray, crs: str) -> Arrays:
    """Raises ValueError for an unknown coordinate system."""
    match CRS(crs):
        case CRS.WGS84:
            return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        case CRS.GCJ02:
            return gcj02_to_wgs84_array(lon, lat)
        case CRS.BD09:
            return gcj02_to_wgs84_array(*bd09_to_gcj02_array(lon, lat))
